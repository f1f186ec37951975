// The recorder's clock. Reading std::chrono::steady_clock costs ~30 ns, a third of a cached
// allocation; on x86-64 with an invariant TSC the recorder reads the TSC instead (~10 ns) and
// converts ticks to nanoseconds when the trace is taken, calibrated against steady_clock over
// the recording's own span.
#pragma once

#include <chrono>
#include <cstdint>

#if defined(__x86_64__)
#include <x86intrin.h>
#endif

namespace tally {

class TraceClock {
 public:
  TraceClock();

  std::uint64_t ticks() const {
#if defined(__x86_64__)
    if (use_tsc_) return __rdtsc();
#endif
    return steady_ns();
  }

  // Nanoseconds from the clock's origin to `ticks`, scaled by the rate observed up to now.
  struct Scale {
    std::uint64_t origin_ticks;
    double ns_per_tick;
    std::uint64_t to_ns(std::uint64_t t) const {
      return t <= origin_ticks ? 0 : static_cast<std::uint64_t>((t - origin_ticks) * ns_per_tick);
    }
  };
  Scale scale() const;

 private:
  static std::uint64_t steady_ns() {
    return static_cast<std::uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                          std::chrono::steady_clock::now().time_since_epoch())
                                          .count());
  }

  bool use_tsc_;
  std::uint64_t origin_ticks_;
  std::uint64_t origin_ns_;
};

}  // namespace tally
