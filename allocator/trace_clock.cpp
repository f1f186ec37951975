#include "allocator/trace_clock.h"

#if defined(__x86_64__)
#include <cpuid.h>
#endif

namespace tally {
namespace {

bool invariant_tsc() {
#if defined(__x86_64__)
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (__get_cpuid(0x80000007, &eax, &ebx, &ecx, &edx) == 0) return false;
  return (edx & (1u << 8)) != 0;
#else
  return false;
#endif
}

}  // namespace

TraceClock::TraceClock() : use_tsc_(invariant_tsc()), origin_ticks_(0), origin_ns_(steady_ns()) {
  origin_ticks_ = ticks();
}

TraceClock::Scale TraceClock::scale() const {
  if (!use_tsc_) return Scale{origin_ticks_, 1.0};
  const std::uint64_t now_ticks = ticks();
  const std::uint64_t now_ns = steady_ns();
  const double ticks_elapsed = static_cast<double>(now_ticks - origin_ticks_);
  const double ns_elapsed = static_cast<double>(now_ns - origin_ns_);
  return Scale{origin_ticks_, ticks_elapsed > 0 ? ns_elapsed / ticks_elapsed : 0.0};
}

}  // namespace tally
