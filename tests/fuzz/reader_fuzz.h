// Runs a reader over mutated inputs and checks the contract every reader keeps: an input either
// parses or is rejected with a tally::Error of kind data whose message is one line (no control
// characters at all) and names its source. Anything else fails the test: another exception, an
// input slower than the per-input limit, or one that never returns (a watchdog aborts, printing
// the input). Crashes and sanitizer reports end the test binary by themselves.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace tally::testing {

struct ReaderFuzz {
  std::string reader;               // names the reader in the output
  std::vector<std::string> seeds;   // valid inputs, each mutated in turn
  std::string source;               // the name the reader is given: every rejection starts with it
  std::size_t inputs = 100'000;     // TALLY_FUZZ_INPUTS overrides
  std::uint64_t seed = 0x7a11f022;  // TALLY_FUZZ_SEED overrides
  std::chrono::milliseconds per_input_limit{2000};  // generous: sanitizer builds are slow
};

struct FuzzOutcome {
  std::size_t inputs = 0, parsed = 0, rejected = 0;
  double slowest_ms = 0;
};

// Reads each mutated input with `read`, which throws what the reader throws; a check `read` adds
// on a parsed input (a round trip, say) throws anything but tally::Error to fail. Prints one
// line with the count, the seed and the outcome; adds a test failure describing the first input
// that breaks the contract (its number, the seed and the input, through printable()), and one
// when fewer than 1% of the inputs parse or are rejected (mutations that never reach past the
// header, or never do harm, would test little).
FuzzOutcome fuzz_reader(const ReaderFuzz& fuzz,
                        const std::function<void(const std::string& input)>& read);

}  // namespace tally::testing
