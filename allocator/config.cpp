#include "allocator/config.h"

#include <algorithm>
#include <charconv>
#include <cstdlib>

#include "allocator/caching_strategy.h"
#include "allocator/error.h"
#include "allocator/units.h"

namespace tally {
namespace {

std::string_view trim(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  return text;
}

bool parse_switch(std::string_view value, std::string_view origin, std::string_view key) {
  if (value == "on" || value == "true" || value == "1") return true;
  if (value == "off" || value == "false" || value == "0") return false;
  throw UsageError(std::string(origin) + ": bad value '" + std::string(value) + "' for key '" +
                   std::string(key) + "' (expected on or off)");
}

void apply(AllocatorConfig& config, std::string_view key, std::string_view value,
           std::string_view origin) {
  const std::string bad =
      "bad value '" + std::string(value) + "' for key '" + std::string(key) + "'";
  if (key == "strategy") {
    const auto names = strategy_names();
    if (std::find(names.begin(), names.end(), value) == names.end()) {
      std::string known;
      for (const auto& n : names) known += (known.empty() ? "" : ", ") + n;
      throw UsageError(std::string(origin) + ": " + bad + " (known strategies: " + known + ")");
    }
    config.strategy = value;
  } else if (key == "max_split_size_mb") {
    std::size_t mb = 0;
    auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), mb);
    // As in PyTorch: a smaller bound would forbid splitting the 20 MiB segments themselves.
    constexpr std::size_t kMinimum = CachingRules::kLargeBuffer / MiB;
    if (ec != std::errc() || end != value.data() + value.size() || mb <= kMinimum ||
        mb > SIZE_MAX / MiB) {
      throw UsageError(std::string(origin) + ": " + bad +
                       " (expected a whole number of MiB above " + std::to_string(kMinimum) + ")");
    }
    config.strategy_options.max_split_size = mb * MiB;
  } else if (key == "limit") {
    if (value == "none") {
      config.limit.reset();
      return;
    }
    const auto bytes = parse_size(value);
    if (!bytes || *bytes == 0)
      throw UsageError(std::string(origin) + ": " + bad +
                       " (expected a size such as 8GiB, from 1 B to 2^64 - 1 B, or none)");
    config.limit = *bytes;
  } else if (key == "record") {
    config.record = parse_switch(value, origin, key);
  } else {
    throw UsageError(std::string(origin) + ": unknown key '" + std::string(key) +
                     "' (known: strategy, max_split_size_mb, limit, record)");
  }
}

}  // namespace

void apply_alloc_conf(AllocatorConfig& config, std::string_view text, std::string_view origin) {
  while (!text.empty()) {
    const std::size_t comma = text.find(',');
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
