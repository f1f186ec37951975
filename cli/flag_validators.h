// Validators for the numeric flags of every subcommand. CLI11's Range and PositiveNumber compare
// the converted value with their bounds, and every comparison with NaN is false, so they let
// "nan" through; these read the text themselves and refuse NaN, infinities, garbage and anything
// outside the range, in one line that names the accepted range (CLI11 puts the flag first).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>

namespace tally::cli {

// Whether an interval holds its end point.
enum class End { open, closed };

// A finite number from `low` to `high`: real_in(0, End::closed, 1, End::open) is [0, 1).
CLI::Validator real_in(double low, End low_end, double high, End high_end);

// A whole number written in decimal digits, from `low` to `high` inclusive.
CLI::Validator whole_in(std::uint64_t low, std::uint64_t high);

// A byte size from 1 B to 2^64 - 1 B such as 12GiB or 500MB (allocator/units.h), rewritten as its
// number of bytes, so that the option's variable is a std::size_t. For ->transform().
CLI::Validator byte_size();

}  // namespace tally::cli
