// OnUnwind: gives back what a function has acquired so far when a later step throws, and
// nothing when it returns, so that what it acquired is handed on to the caller.
#pragma once

#include <exception>
#include <type_traits>
#include <utility>

namespace tally {

// Runs `undo` when its scope is left by an exception thrown after it was made. An exception
// already in flight when it was made (a guard made in a destructor during unwinding) does not
// count. `undo` runs during unwinding, where a throw ends the process, so it must be noexcept:
// cleanup that can fail goes through run_cleanup() (allocator/cleanup_errors.h).
template <typename F>
class OnUnwind {
  static_assert(std::is_nothrow_invocable_v<F&>, "OnUnwind's function must be noexcept");

 public:
  explicit OnUnwind(F undo) : undo_(std::move(undo)), in_flight_(std::uncaught_exceptions()) {}
  ~OnUnwind() {
    if (std::uncaught_exceptions() > in_flight_) undo_();
  }
  OnUnwind(const OnUnwind&) = delete;
  OnUnwind& operator=(const OnUnwind&) = delete;

 private:
  F undo_;
  int in_flight_;
};

}  // namespace tally
