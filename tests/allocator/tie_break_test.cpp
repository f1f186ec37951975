// Ties among equal free blocks go to the oldest segment, then the lowest offset in it, whatever
// addresses the backing chose: the sim device must choose as the device it mimics does. Over
// DescendingBacking the oldest segment is the highest, so choosing by address would take the
// youngest.
#include <gtest/gtest.h>

#include <string>

#include "tests/allocator/descending_backing.h"
#include "tests/allocator/figures.h"

namespace tally {
namespace {

using test::addr;
constexpr std::uintptr_t kTop = test::DescendingBacking::kTop;

class TieBreak : public ::testing::TestWithParam<std::string> {};

// caching: 2 MiB small-pool segments; buddy: 2 MiB roots; binning: 2 MiB slabs of the 1 MiB
// class. Each strategy puts two 1 MiB blocks in a segment.
TEST_P(TieBreak, AmongEqualFreeBlocksTheOldestSegmentsIsTaken) {
  auto a = test::descending_allocator(GetParam());
  // Segment 0 is [top - 2 MiB, top), both its halves in use; segment 1, [top - 4 MiB,
  // top - 2 MiB), has its lower half in use.
  const Allocation old_low = a->allocate(1 * MiB, Tag::temporary);
  const Allocation old_high = a->allocate(1 * MiB, Tag::temporary);
  const Allocation young_low = a->allocate(1 * MiB, Tag::temporary);
  ASSERT_EQ(addr(old_low), kTop - 2 * MiB);
  ASSERT_EQ(addr(old_high), kTop - 1 * MiB);
  ASSERT_EQ(addr(young_low), kTop - 4 * MiB);
  a->deallocate(old_low);
  // Free 1 MiB blocks: segment 0's at top - 2 MiB, segment 1's upper half at top - 3 MiB.
  const Allocation taken = a->allocate(1 * MiB, Tag::temporary);
  EXPECT_EQ(addr(taken), kTop - 2 * MiB);
  EXPECT_EQ(a->stats().segment.allocated, 2);
  for (const auto& b : {old_high, young_low, taken}) a->deallocate(b);
}

INSTANTIATE_TEST_SUITE_P(BestFitStrategies, TieBreak,
                         ::testing::Values("caching", "buddy", "binning"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tally
