#include "cli/flag_validators.h"

#include <charconv>
#include <cmath>
#include <cstdio>
#include <string>

#include "allocator/units.h"

namespace tally::cli {
namespace {

// "0", "0.5", "1000": the bounds as people write them.
std::string number_text(double value) {
  char text[32];
  std::snprintf(text, sizeof text, "%g", value);
  return text;
}

}  // namespace

CLI::Validator real_in(double low, End low_end, double high, End high_end) {
  const std::string range = (low_end == End::closed ? "[" : "(") + number_text(low) + ", " +
                            number_text(high) + (high_end == End::closed ? "]" : ")");
  return CLI::Validator(
      [=](std::string& text) {
        double value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        const bool number = ec == std::errc() && end == text.data() + text.size();
        // Written so that NaN, which fails every comparison, is outside every range.
        const bool above_low = low_end == End::closed ? value >= low : value > low;
        const bool below_high = high_end == End::closed ? value <= high : value < high;
        if (number && std::isfinite(value) && above_low && below_high) return std::string();
        return "'" + text + "' is not a number in " + range;
      },
      range);
}

CLI::Validator whole_in(std::uint64_t low, std::uint64_t high) {
  const std::string range = "[" + std::to_string(low) + ", " + std::to_string(high) + "]";
  return CLI::Validator(
      [=](std::string& text) {
        std::uint64_t value = 0;
        const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
        if (ec == std::errc() && end == text.data() + text.size() && value >= low &&
            value <= high) {
          return std::string();
        }
        return "'" + text + "' is not a whole number in " + range;
      },
      range);
}

CLI::Validator byte_size() {
  return CLI::Validator(
      [](std::string& text) {
        const auto bytes = parse_size(text);
        if (!bytes || *bytes == 0) {
          return "'" + text + "' is not a size such as 12GiB or 500MB, from 1 B to 2^64 - 1 B";
        }
        text = std::to_string(*bytes);
        return std::string();
      },
      "");
}

}  // namespace tally::cli
