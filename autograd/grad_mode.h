// Whether ops record the tape on this thread.
#pragma once

namespace tally {

namespace detail {
inline thread_local bool grad_enabled = true;
}

inline bool grad_enabled() {
  return detail::grad_enabled;
}

// Disables recording for its lifetime (evaluation, optimizer updates).
class NoGradGuard {
 public:
  NoGradGuard() : previous_(detail::grad_enabled) { detail::grad_enabled = false; }
  ~NoGradGuard() { detail::grad_enabled = previous_; }
  NoGradGuard(const NoGradGuard&) = delete;
  NoGradGuard& operator=(const NoGradGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace tally
