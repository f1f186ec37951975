#include "ops/flop_count.h"

#include "allocator/scope.h"

namespace tally::ops {
namespace {

thread_local FlopCount counts{};

}  // namespace

void count_flops(std::uint64_t flops) {
  counts[static_cast<std::size_t>(current_phase())] += flops;
}

FlopCount flop_count() {
  return counts;
}

void reset_flop_count() {
  counts = {};
}

}  // namespace tally::ops
