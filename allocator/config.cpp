#include "allocator/config.h"

#include <algorithm>
#include <array>
#include <bit>
#include <charconv>
#include <cstdlib>

#include "allocator/caching_strategy.h"
#include "allocator/error.h"
#include "allocator/units.h"

namespace tally {
namespace {

bool parse_switch(std::string_view value, std::string_view origin, std::string_view key) {
  // True and False as PYTORCH_CUDA_ALLOC_CONF spells them.
  if (value == "on" || value == "true" || value == "True" || value == "1") return true;
  if (value == "off" || value == "false" || value == "False" || value == "0") return false;
  throw UsageError(std::string(origin) + ": bad value '" + std::string(value) + "' for key '" +
                   std::string(key) + "' (expected on or off)");
}

// "N" for every interval, or PyTorch's list "[256:1,512:2,>:8]": a power-of-two boundary in MiB
// sets its interval (and, when first, every interval below it); ">" sets every interval above
// the last boundary. Divisions are powers of two, or 0 for plain rounding.
std::array<std::uint32_t, 16> parse_divisions(std::string_view value, const std::string& bad) {
  const auto fail = [&] {
    throw UsageError(bad +
                     " (expected a power of two, or a list such as [256:1,512:2,>:8] of "
                     "power-of-two MiB boundaries and power-of-two divisions)");
  };
  const auto number = [&](std::string_view text, bool zero_allowed) {
    std::size_t n = 0;
    const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), n);
    if (ec != std::errc() || end != text.data() + text.size() || (n == 0 && !zero_allowed) ||
        (n & (n - 1)) != 0 || n > (std::size_t{1} << 30)) {
      fail();
    }
    return n;
  };
  std::array<std::uint32_t, 16> divisions{};
  if (value.empty() || value.front() != '[') {
    divisions.fill(static_cast<std::uint32_t>(number(value, false)));
    return divisions;
  }
  if (value.size() < 2 || value.back() != ']') fail();
  std::string_view list = value.substr(1, value.size() - 2);
  bool first = true;
  std::size_t last = 0;
  while (!list.empty()) {
    const std::size_t comma = list.find(',');
    const std::string_view item = trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view{} : list.substr(comma + 1);
    const std::size_t colon = item.find(':');
    if (colon == std::string_view::npos) fail();
    const std::string_view boundary = trim(item.substr(0, colon));
    const auto n = static_cast<std::uint32_t>(number(trim(item.substr(colon + 1)), true));
    if (boundary == ">") {
      std::fill(divisions.begin() + static_cast<std::ptrdiff_t>(last) + 1, divisions.end(), n);
      continue;
    }
    const std::size_t index = std::min<std::size_t>(
        static_cast<std::size_t>(std::countr_zero(number(boundary, false))), divisions.size() - 1);
    if (first)
      std::fill(divisions.begin(), divisions.begin() + static_cast<std::ptrdiff_t>(index), n);
    divisions[index] = n;
    first = false;
    last = index;
  }
  return divisions;
}

void apply(AllocatorConfig& config, std::string_view key, std::string_view value,
           std::string_view origin) {
  const std::string bad = std::string(origin) + ": bad value '" + std::string(value) +
                          "' for key '" + std::string(key) + "'";
  const auto known_strategy = [&](std::string_view name, std::string_view what) {
    const auto names = strategy_names();
    if (std::find(names.begin(), names.end(), name) == names.end()) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      throw UsageError(bad + " (known " + std::string(what) + ": " + known + ")");
    }
  };
  if (key == "strategy") {
    known_strategy(value, "strategies");
    config.strategy = value;
  } else if (key == "max_split_size_mb") {
    std::size_t mb = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), mb);
    // As in PyTorch: a smaller bound would forbid splitting the 20 MiB segments themselves.
    constexpr std::size_t kMinimum = CachingRules::kLargeBuffer / MiB;
    if (ec != std::errc() || end != value.data() + value.size() || mb <= kMinimum ||
        mb > SIZE_MAX / MiB) {
      throw UsageError(bad + " (expected a whole number of MiB above " + std::to_string(kMinimum) +
                       ")");
    }
    config.strategy_options.max_split_size = mb * MiB;
  } else if (key == "roundup_power2_divisions") {
    config.strategy_options.roundup_power2_divisions = parse_divisions(value, bad);
  } else if (key == "garbage_collection_threshold") {
    double fraction = 0;
    const auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), fraction);
    if (ec != std::errc() || end != value.data() + value.size() || !(fraction > 0) ||
        !(fraction < 1)) {
      throw UsageError(bad + " (expected a fraction of the memory limit between 0 and 1)");
    }
    config.strategy_options.garbage_collection_threshold = fraction;
  } else if (key == "expandable_segments") {
    // PyTorch's switch: the caching strategy with expandable segments is tally's `expandable`.
    const bool on = parse_switch(value, origin, key);
    if (on && config.strategy != "caching" && config.strategy != "expandable") {
      throw UsageError(std::string(origin) +
                       ": expandable_segments applies to the caching strategy, not '" +
                       config.strategy + "'");
    }
    if (on) config.strategy = "expandable";
    if (!on && config.strategy == "expandable") config.strategy = "caching";
  } else if (key == "binning_fallback") {
    if (value == "binning") throw UsageError(bad + " (binning cannot be its own fallback)");
    known_strategy(value, "strategies");
    config.strategy_options.binning_fallback = value;
  } else if (key == "limit") {
    if (value == "none") {
      config.limit.reset();
      return;
    }
    const auto bytes = parse_size(value);
    if (!bytes || *bytes == 0)
      throw UsageError(bad + " (expected a size such as 8GiB, from 1 B to 2^64 - 1 B, or none)");
    config.limit = *bytes;
  } else if (key == "record") {
    config.record = parse_switch(value, origin, key);
  } else {
    throw UsageError(std::string(origin) + ": unknown key '" + std::string(key) +
                     "' (known: strategy, max_split_size_mb, roundup_power2_divisions, "
                     "garbage_collection_threshold, expandable_segments, binning_fallback, "
                     "limit, record)");
  }
}

}  // namespace

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

void apply_alloc_conf(AllocatorConfig& config, std::string_view text, std::string_view origin) {
  while (!text.empty()) {
    // Commas inside a [list] belong to its value.
    std::size_t comma = 0;
    for (int depth = 0; comma < text.size(); ++comma) {
      if (text[comma] == '[') ++depth;
      if (text[comma] == ']') --depth;
      if (text[comma] == ',' && depth <= 0) break;
    }
    if (comma == text.size()) comma = std::string_view::npos;
    const std::string_view item = trim(text.substr(0, comma));
    text = comma == std::string_view::npos ? std::string_view{} : text.substr(comma + 1);
    if (item.empty()) continue;
    const std::size_t colon = item.find(':');
    if (colon == std::string_view::npos) {
      throw UsageError(std::string(origin) + ": key '" + std::string(item) +
                       "' has no value (expected key:value)");
    }
    apply(config, trim(item.substr(0, colon)), trim(item.substr(colon + 1)), origin);
  }
}

AllocatorConfig alloc_conf_from(std::string_view flag) {
  AllocatorConfig config;
  if (const char* env = std::getenv("TALLY_ALLOC_CONF")) {
    apply_alloc_conf(config, env, "TALLY_ALLOC_CONF");
  }
  apply_alloc_conf(config, flag, "--alloc-conf");
  return config;
}

}  // namespace tally
