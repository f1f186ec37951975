// Errors that cleanup cannot throw. A destructor that throws calls std::terminate, which would
// end a run (or a test table) at the first failed free and hide every later result; and a
// segment whose return fails must still leave the allocator's counts whole. Such code runs its
// work through run_cleanup(), which records a failure here instead of letting it escape, and goes
// on. Every `tally` command (cli/cleanup_warning.h) and the op-table test report what was
// recorded.
#pragma once

#include <cstddef>
#include <exception>
#include <string>
#include <string_view>

namespace tally {

struct CleanupErrors {
  std::size_t count = 0;  // failures recorded since the process started or the last reset
  std::string first;      // the first of them, "<where>: <message>"
};

CleanupErrors cleanup_errors();
void reset_cleanup_errors();
// "<count> error(s) while freeing memory were recorded instead of thrown; the first: <first>",
// the one wording of every report of them, which scripts/gpu_check.sh greps for.
std::string cleanup_errors_summary(const CleanupErrors& errors);
void record_cleanup_error(std::string_view where, std::string_view message) noexcept;

// Runs f(); whatever it throws is recorded under `where` rather than propagated.
template <typename F>
void run_cleanup(std::string_view where, F&& f) noexcept {
  try {
    f();
  } catch (const std::exception& e) {
    record_cleanup_error(where, e.what());
  } catch (...) {
    record_cleanup_error(where, "an exception that is not a std::exception");
  }
}

}  // namespace tally
