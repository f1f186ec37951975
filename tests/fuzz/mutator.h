// A seeded, deterministic mutator for the readers' fuzz tests: it damages a valid input the ways
// files really break (bit rot, cut-off writes, edited lines, CRLF, numbers out of range, headers
// claiming huge sizes), so that every reader meets the same kinds of bad input.
#pragma once

#include <cstdint>
#include <random>
#include <span>
#include <string>

namespace tally::testing {

class Mutator {
 public:
  explicit Mutator(std::uint64_t seed) : rng_(seed) {}

  // `input` after one to four mutations stacked; `others` (the other seeds) lend lines and bytes
  // to splice in. The same seed gives the same sequence of outputs.
  std::string mutate(std::string input, std::span<const std::string> others);

  std::size_t below(std::size_t n) { return n == 0 ? 0 : rng_() % n; }

 private:
  void mutate_once(std::string& s, std::span<const std::string> others);

  // A position in `s`, or one past its end when `end_ok`.
  std::size_t position(const std::string& s, bool end_ok = false);
  // The bounds [begin, end) of a random line of `s`, without its '\n'.
  std::pair<std::size_t, std::size_t> line(const std::string& s);
  // The bounds of a random comma-separated field of a random line.
  std::pair<std::size_t, std::size_t> field(const std::string& s);
  // The bounds of a random run of decimal digits, or an empty range when there is none.
  std::pair<std::size_t, std::size_t> digits(const std::string& s);

  char interesting_byte();
  std::string boundary_value();

  std::mt19937_64 rng_;
};

}  // namespace tally::testing
