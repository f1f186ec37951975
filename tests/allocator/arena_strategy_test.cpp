// The arena strategy against figures computed by hand: 512-byte bumps through 20 MiB segments,
// holes kept until a segment's last block is freed, then the whole segment reset and reused.
#include "allocator/arena_strategy.h"

#include <gtest/gtest.h>

#include "tests/allocator/descending_backing.h"
#include "tests/allocator/figures.h"

namespace tally {
namespace {

using test::addr;
using test::virtual_allocator;

TEST(ArenaStrategy, RequestsAreBumpedIn512ByteStepsThroughA20MiBSegment) {
  auto a = virtual_allocator("arena");
  const Allocation x = a->allocate(1, Tag::temporary);
  const Allocation y = a->allocate(1000, Tag::temporary);
  const Allocation z = a->allocate(512, Tag::temporary);
  EXPECT_EQ(x.size, 512u);
  EXPECT_EQ(y.size, 1024u);
  EXPECT_EQ(addr(y), addr(x) + 512);
  EXPECT_EQ(addr(z), addr(x) + 1536);
  const AllocatorStats s = a->stats();
  EXPECT_EQ(s.segment.current, 1);
  EXPECT_EQ(s.reserved_bytes.current, static_cast<std::int64_t>(20 * MiB));
  // The unused tail is the one free block.
  EXPECT_EQ(s.inactive_split.current, 1);
  EXPECT_EQ(s.inactive_split_bytes.current, static_cast<std::int64_t>(20 * MiB - 2 * KiB));
  EXPECT_EQ(a->largest_free_block(), 20 * MiB - 2 * KiB);
  for (const auto& b : {x, y, z}) a->deallocate(b);
}

// Freeing the last block bumped lowers the bump pointer instead of leaving a hole; a block
// below it still leaves one.
TEST(ArenaStrategy, TheLastBlockBumpedGivesItsBytesBack) {
  auto a = virtual_allocator("arena");
  const Allocation x = a->allocate(1 * KiB, Tag::temporary);
  const Allocation y = a->allocate(3 * KiB, Tag::temporary);
  a->deallocate(y);
  const Allocation z = a->allocate(2 * KiB, Tag::temporary);
  EXPECT_EQ(addr(z), addr(x) + 1 * KiB);
  EXPECT_EQ(a->stats().inactive_split.current, 1);  // the tail only
  const Allocation w = a->allocate(1 * KiB, Tag::temporary);
  a->deallocate(z);  // below w: a hole
  EXPECT_EQ(a->stats().inactive_split.current, 2);
  EXPECT_EQ(a->largest_free_block(), 20 * MiB - 4 * KiB);
  a->deallocate(x);
  a->deallocate(w);
}

TEST(ArenaStrategy, HolesAreNotReusedUntilTheSegmentEmpties) {
  auto a = virtual_allocator("arena");
  const Allocation x = a->allocate(1 * KiB, Tag::temporary);
  const Allocation y = a->allocate(1 * KiB, Tag::temporary);
  a->deallocate(x);
  const Allocation z = a->allocate(1 * KiB, Tag::temporary);
  EXPECT_EQ(addr(z), addr(x) + 2 * KiB);  // past the hole x left
  AllocatorStats s = a->stats();
  EXPECT_EQ(s.inactive_split.current, 2);  // the hole and the tail
  EXPECT_EQ(s.inactive_split_bytes.current, static_cast<std::int64_t>(20 * MiB - 2 * KiB));
  EXPECT_EQ(a->cache_state().free_bytes, 20 * MiB - 2 * KiB);

  a->deallocate(y);
  a->deallocate(z);  // the last live block: the segment resets at once
  s = a->stats();
  EXPECT_EQ(s.inactive_split.current, 0);
  EXPECT_EQ(s.inactive_split_bytes.current, 0);
  EXPECT_EQ(a->largest_free_block(), 20 * MiB);
  const Allocation again = a->allocate(4 * KiB, Tag::temporary);
  EXPECT_EQ(addr(again), addr(x));
  EXPECT_EQ(a->stats().segment.allocated, 1);
  a->deallocate(again);
}

TEST(ArenaStrategy, ARequestThatDoesNotFitMovesToANewSegment) {
  auto a = virtual_allocator("arena");
  const Allocation x = a->allocate(15 * MiB, Tag::activation);
  const Allocation y = a->allocate(8 * MiB, Tag::activation);  // 5 MiB left: a new segment
  const Allocation z = a->allocate(4 * MiB, Tag::activation);  // bumped after y
  EXPECT_EQ(addr(y), addr(x) + 20 * MiB);
  EXPECT_EQ(addr(z), addr(y) + 8 * MiB);
  // The first segment's 5 MiB tail is left behind until its reset.
  EXPECT_EQ(a->stats().reserved_bytes.current, static_cast<std::int64_t>(40 * MiB));
  EXPECT_EQ(a->cache_state().free_bytes, 13 * MiB);
  EXPECT_EQ(a->largest_free_block(), 8 * MiB);
  for (const auto& b : {x, y, z}) a->deallocate(b);
}

TEST(ArenaStrategy, ALargeRequestGetsASegmentRoundedTo2MiB) {
  auto a = virtual_allocator("arena");
  const Allocation big = a->allocate(30 * MiB + 1, Tag::parameter);
  EXPECT_EQ(big.size, 30 * MiB + 512);
  EXPECT_EQ(a->stats().reserved_bytes.current, static_cast<std::int64_t>(32 * MiB));
  EXPECT_EQ(a->cache_state().free_bytes, 2 * MiB - 512);
  a->deallocate(big);
}

TEST(ArenaStrategy, EmptySegmentsAreReusedSmallestThatFitsThenOldest) {
  auto a = test::descending_allocator("arena");
  constexpr std::uintptr_t kTop = test::DescendingBacking::kTop;
  // Segments 0 and 1 (20 MiB each) emptied, 2 (32 MiB) emptied, 3 current with 5 MiB left.
  const Allocation in0 = a->allocate(15 * MiB, Tag::activation);
  const Allocation in1 = a->allocate(15 * MiB, Tag::activation);
  const Allocation in2 = a->allocate(31 * MiB, Tag::activation);
  const Allocation in3 = a->allocate(15 * MiB, Tag::activation);
  ASSERT_EQ(addr(in0), kTop - 20 * MiB);
  ASSERT_EQ(addr(in1), kTop - 40 * MiB);
  ASSERT_EQ(addr(in2), kTop - 72 * MiB);
  for (const auto& b : {in2, in1, in0}) a->deallocate(b);
  EXPECT_EQ(a->stats().inactive_split_bytes.current, static_cast<std::int64_t>(5 * MiB));

  // 10 MiB: the oldest 20 MiB segment, not the younger (and lower) one, nor the 32 MiB one.
  const Allocation first = a->allocate(10 * MiB, Tag::activation);
  EXPECT_EQ(addr(first), kTop - 20 * MiB);
  // 21 MiB: only the 32 MiB segment holds it.
  const Allocation second = a->allocate(21 * MiB, Tag::activation);
  EXPECT_EQ(addr(second), kTop - 72 * MiB);
  EXPECT_EQ(a->stats().segment.allocated, 4);
  for (const auto& b : {in3, first, second}) a->deallocate(b);
}

TEST(ArenaStrategy, ReleaseReturnsEmptySegmentsOnly) {
  auto a = virtual_allocator("arena");
  const Allocation kept = a->allocate(15 * MiB, Tag::activation);
  const Allocation gone = a->allocate(15 * MiB, Tag::activation);  // a second segment, current
  a->deallocate(gone);  // empty, and still the current one
  EXPECT_EQ(a->stats().reserved_bytes.current, static_cast<std::int64_t>(40 * MiB));
  a->empty_cache();
  AllocatorStats s = a->stats();
  EXPECT_EQ(s.reserved_bytes.current, static_cast<std::int64_t>(20 * MiB));
  EXPECT_EQ(s.segment.freed, 1);
  // With no current segment left, the next request takes a new one.
  const Allocation next = a->allocate(1 * KiB, Tag::temporary);
  EXPECT_EQ(a->stats().segment.allocated, 3);
  a->deallocate(kept);
  a->deallocate(next);
  a->empty_cache();
  EXPECT_EQ(a->backing_held(), 0u);
}

TEST(ArenaStrategy, SegmentsAreNotSharedAcrossStreams) {
  auto a = virtual_allocator("arena");
  const Allocation one = a->allocate(4 * KiB, Tag::temporary, /*stream=*/1);
  const Allocation two = a->allocate(4 * KiB, Tag::temporary, /*stream=*/2);
  const Allocation again = a->allocate(4 * KiB, Tag::temporary, /*stream=*/1);
  EXPECT_EQ(addr(two), addr(one) + 20 * MiB);
  EXPECT_EQ(addr(again), addr(one) + 4 * KiB);
  EXPECT_EQ(a->stats().segment.current, 2);
  for (const auto& b : {one, two, again}) a->deallocate(b);
}

}  // namespace
}  // namespace tally
