#include "allocator/segment_cost.h"

namespace tally {

const CallCost& SegmentCosts::of(std::string_view strategy) const {
  return strategy == "expandable" ? vmm_page : runtime;
}

double SegmentCosts::estimate_us(std::string_view strategy, std::int64_t allocs,
                                 std::int64_t frees) const {
  const CallCost& cost = of(strategy);
  return static_cast<double>(allocs) * cost.alloc_us + static_cast<double>(frees) * cost.free_us;
}

}  // namespace tally
