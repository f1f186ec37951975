#include "allocator/units.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <limits>
#include <utility>

namespace tally {
namespace {

std::string lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::optional<std::uint64_t> unit_factor(std::string_view unit) {
  static const std::array<std::pair<const char*, std::uint64_t>, 10> kUnits{{
      {"", 1},
      {"b", 1},
      {"kb", 1'000},
      {"mb", 1'000'000},
      {"gb", 1'000'000'000},
      {"tb", 1'000'000'000'000},
      {"kib", KiB},
      {"mib", MiB},
      {"gib", GiB},
      {"tib", 1024 * GiB},
  }};
  const std::string key = lower(unit);
  for (const auto& [name, factor] : kUnits) {
    if (key == name) return factor;
  }
  return std::nullopt;
}

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}

}  // namespace

std::optional<std::size_t> parse_size(std::string_view text) {
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.front())))
    text.remove_prefix(1);
  while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
    text.remove_suffix(1);
  std::size_t whole_end = 0;
  while (whole_end < text.size() && is_digit(text[whole_end])) ++whole_end;
  if (whole_end == 0) return std::nullopt;  // "", "nan", "inf", "-1", ".5", "GiB"
  std::size_t number_end = whole_end;
  if (number_end < text.size() && text[number_end] == '.') {
    ++number_end;
    while (number_end < text.size() && is_digit(text[number_end])) ++number_end;
    if (number_end == whole_end + 1) return std::nullopt;  // "1."
  }
  std::string_view unit = text.substr(number_end);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  const auto factor = unit_factor(unit);
  if (!factor) return std::nullopt;

  // The whole part in integers, so that every byte count below 2^64 is exact; only a fraction
  // goes through a double, and it is worth less than one unit.
  std::uint64_t whole = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + whole_end, whole);
  if (ec != std::errc() || end != text.data() + whole_end) return std::nullopt;  // past 2^64
  constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();
  if (whole > kMax / *factor) return std::nullopt;
  std::uint64_t bytes = whole * *factor;
  if (number_end > whole_end) {
    double part = 0;  // ".5": from_chars reads what strtod reads
    std::from_chars(text.data() + whole_end, text.data() + number_end, part);
    const auto rounded =
        static_cast<std::uint64_t>(std::round(part * static_cast<double>(*factor)));
    if (rounded > kMax - bytes) return std::nullopt;
    bytes += rounded;
  }
  return bytes;
}

std::string format_bytes(std::size_t bytes) {
  static const std::array<const char*, 5> kNames{"B", "KiB", "MiB", "GiB", "TiB"};
  if (bytes < KiB) return std::to_string(bytes) + " B";
  double value = static_cast<double>(bytes);
  std::size_t unit = 0;
  while (value >= 1024.0 && unit + 1 < kNames.size()) {
    value /= 1024.0;
    ++unit;
  }
  char buffer[32];
  std::snprintf(buffer, sizeof buffer, "%.2f %s", value, kNames[unit]);
  return buffer;
}

}  // namespace tally
