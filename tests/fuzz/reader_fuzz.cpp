#include "tests/fuzz/reader_fuzz.h"

#include <gtest/gtest.h>

#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <optional>
#include <string_view>
#include <thread>
#include <typeinfo>

#include "allocator/error.h"
#include "allocator/printable.h"
#include "tests/fuzz/mutator.h"

namespace tally::testing {
namespace {

using Clock = std::chrono::steady_clock;

// An input or a message as the failure shows it: escaped, and cut short, as a mutated input can
// be long.
std::string shown(std::string_view text) {
  constexpr std::size_t kLimit = 4000;
  return printable(text.substr(0, kLimit)) + (text.size() > kLimit ? "..." : "");
}

std::uint64_t from_environment(const char* name, std::uint64_t fallback) {
  const char* text = std::getenv(name);
  return text && *text ? std::strtoull(text, nullptr, 0) : fallback;
}

// Aborts the process when one input has been read for more than `limit`: a reader that never
// returns would otherwise hang the test until CTest kills it, without saying which input.
class Watchdog {
 public:
  Watchdog(std::string reader, std::chrono::milliseconds limit)
      : reader_(std::move(reader)), limit_(limit), thread_([this] { watch(); }) {}

  ~Watchdog() {
    {
      std::lock_guard lock(mutex_);
      done_ = true;
    }
    wake_.notify_one();
    thread_.join();
  }

  void start(std::size_t number, const std::string& input) {
    std::lock_guard lock(mutex_);
    number_ = number;
    input_ = input;
    started_ = Clock::now();
  }

 private:
  void watch() {
    std::unique_lock lock(mutex_);
    while (!wake_.wait_for(lock, std::chrono::milliseconds(100), [this] { return done_; })) {
      if (Clock::now() - started_ > 4 * limit_) {
        std::fprintf(stderr, "fuzz %s: input %zu has not returned after %lld ms: %s\n",
                     reader_.c_str(), number_, static_cast<long long>(4 * limit_.count()),
                     shown(input_).c_str());
        std::abort();
      }
    }
  }

  std::string reader_;
  std::chrono::milliseconds limit_;
  std::mutex mutex_;
  std::condition_variable wake_;
  bool done_ = false;
  std::size_t number_ = 0;
  std::string input_;
  Clock::time_point started_ = Clock::now();
  std::thread thread_;  // last: it starts once everything it reads is constructed
};

// Why `e` breaks the contract, or nullopt when it keeps it.
std::optional<std::string> broken_contract(const Error& e, const std::string& source) {
  const std::string what = e.what();
  if (e.kind() != ErrorKind::data) {
    return std::string("a tally::Error of kind ") + error_kind_name(e.kind()) + ": " + what;
  }
  if (printable(what) != what) return "a message with control characters: " + shown(what);
  if (!what.starts_with(source)) return "a message not naming '" + source + "': " + what;
  return std::nullopt;
}

}  // namespace

FuzzOutcome fuzz_reader(const ReaderFuzz& fuzz,
                        const std::function<void(const std::string& input)>& read) {
  const std::uint64_t seed = from_environment("TALLY_FUZZ_SEED", fuzz.seed);
  FuzzOutcome outcome;
  outcome.inputs = from_environment("TALLY_FUZZ_INPUTS", fuzz.inputs);
  Mutator mutator(seed);
  Watchdog watchdog(fuzz.reader, fuzz.per_input_limit);
  for (std::size_t i = 0; i < outcome.inputs; ++i) {
    const std::string input = mutator.mutate(fuzz.seeds[i % fuzz.seeds.size()], fuzz.seeds);
    const auto describe = [&] {
      return "fuzz " + fuzz.reader + ": input " + std::to_string(i) + " of seed " +
             std::to_string(seed) + " (" + shown(input) + ") ";
    };
    watchdog.start(i, input);
    const Clock::time_point start = Clock::now();
    try {
      read(input);
      ++outcome.parsed;
    } catch (const Error& e) {
      if (const std::optional<std::string> broken = broken_contract(e, fuzz.source)) {
        ADD_FAILURE() << describe() << "was rejected with " << *broken;
        return outcome;
      }
      ++outcome.rejected;
    } catch (const std::exception& e) {
      ADD_FAILURE() << describe() << "threw " << typeid(e).name() << ": " << e.what();
      return outcome;
    }
    const auto took = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    outcome.slowest_ms = std::max(outcome.slowest_ms, took);
    if (took > static_cast<double>(fuzz.per_input_limit.count())) {
      ADD_FAILURE() << describe() << "took " << took << " ms";
      return outcome;
    }
  }
  std::printf(
      "fuzz %s: %zu inputs from seed %llu: %zu parsed, %zu rejected with one-line data "
      "errors; slowest %.2f ms\n",
      fuzz.reader.c_str(), outcome.inputs, static_cast<unsigned long long>(seed), outcome.parsed,
      outcome.rejected, outcome.slowest_ms);
  EXPECT_GE(outcome.parsed * 100, outcome.inputs) << "fuzz " << fuzz.reader << ": under 1% parsed";
  EXPECT_GE(outcome.rejected * 100, outcome.inputs)
      << "fuzz " << fuzz.reader << ": under 1% rejected";
  return outcome;
}

}  // namespace tally::testing
