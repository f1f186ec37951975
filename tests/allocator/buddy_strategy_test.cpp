// The buddy strategy against figures computed by hand: power-of-two blocks halved from 2 MiB
// (or larger) roots, merged only with their buddies.
#include "allocator/buddy_strategy.h"

#include <gtest/gtest.h>

#include "tests/allocator/figures.h"

namespace tally {
namespace {

using test::addr;
using test::virtual_allocator;

TEST(BuddyStrategy, BlocksAreTheNextPowerOfTwoFrom512Bytes) {
  auto a = virtual_allocator("buddy");
  const Allocation one = a->allocate(1, Tag::temporary);
  const Allocation odd = a->allocate(513, Tag::temporary);
  const Allocation big = a->allocate(3 * MiB, Tag::activation);
  EXPECT_EQ(one.size, 512u);
  EXPECT_EQ(odd.size, 1024u);
  EXPECT_EQ(big.size, 4 * MiB);
  // A 2 MiB root for the small ones, a 4 MiB root wholly taken by the 3 MiB request.
  const AllocatorStats s = a->stats();
  EXPECT_EQ(s.segment.current, 2);
  EXPECT_EQ(s.reserved_bytes.current, static_cast<std::int64_t>(6 * MiB));
  EXPECT_EQ(a->cache_state().free_bytes, 2 * MiB - 1536);
  for (const auto& b : {one, odd, big}) a->deallocate(b);
}

TEST(BuddyStrategy, OneByteSplitsA2MiBRootDownTo512Bytes) {
  auto a = virtual_allocator("buddy");
  const Allocation block = a->allocate(1, Tag::temporary);
  const AllocatorStats s = a->stats();
  EXPECT_EQ(s.reserved_bytes.current, static_cast<std::int64_t>(2 * MiB));
  // One free upper half at each order from 512 B to 1 MiB: 12 blocks.
  EXPECT_EQ(s.inactive_split.current, 12);
  EXPECT_EQ(s.inactive_split_bytes.current, static_cast<std::int64_t>(2 * MiB - 512));
  EXPECT_EQ(a->largest_free_block(), 1 * MiB);
  a->deallocate(block);
}

TEST(BuddyStrategy, TheSmallestFreeBlockThatFitsIsSplit) {
  auto a = virtual_allocator("buddy");
  const Allocation first = a->allocate(512, Tag::temporary);
  const Allocation buddy = a->allocate(512, Tag::temporary);  // the 512 B half left free
  const Allocation kib = a->allocate(1 * KiB, Tag::temporary);
  const Allocation two_kib = a->allocate(2 * KiB, Tag::temporary);
  EXPECT_EQ(addr(buddy), addr(first) + 512);
  EXPECT_EQ(addr(kib), addr(first) + 1 * KiB);
  EXPECT_EQ(addr(two_kib), addr(first) + 2 * KiB);
  // Orders 512 B to 2 KiB are used up; 4 KiB .. 1 MiB remain, one each.
  EXPECT_EQ(a->stats().inactive_split.current, 9);
  EXPECT_EQ(a->stats().segment.current, 1);
  for (const auto& b : {first, buddy, kib, two_kib}) a->deallocate(b);
}

TEST(BuddyStrategy, FreedBlocksMergeOnlyWithTheirBuddies) {
  auto a = virtual_allocator("buddy");
  const Allocation w = a->allocate(512 * KiB, Tag::temporary);  // offset 0
  const Allocation x = a->allocate(512 * KiB, Tag::temporary);  // 512 KiB
  const Allocation y = a->allocate(512 * KiB, Tag::temporary);  // 1 MiB
  const Allocation z = a->allocate(512 * KiB, Tag::temporary);  // 1.5 MiB
  ASSERT_EQ(addr(z), addr(w) + 1536 * KiB);
  EXPECT_EQ(a->cache_state().free_bytes, 0u);

  // x and y are neighbours but not buddies: two 512 KiB blocks stay apart.
  a->deallocate(x);
  a->deallocate(y);
  EXPECT_EQ(a->largest_free_block(), 512 * KiB);
  EXPECT_EQ(a->stats().inactive_split.current, 2);

  a->deallocate(w);  // w and x are buddies: 1 MiB at offset 0
  EXPECT_EQ(a->largest_free_block(), 1 * MiB);
  EXPECT_EQ(a->stats().inactive_split.current, 2);
  EXPECT_EQ(a->stats().inactive_split_bytes.current, static_cast<std::int64_t>(1536 * KiB));

  a->deallocate(z);  // z, y, then the two halves: the whole root, no longer split
  AllocatorStats s = a->stats();
  EXPECT_EQ(a->largest_free_block(), 2 * MiB);
  EXPECT_EQ(s.inactive_split.current, 0);
  EXPECT_EQ(s.inactive_split_bytes.current, 0);
  EXPECT_EQ(a->cache_state().free_bytes, 2 * MiB);

  const Allocation again = a->allocate(2 * MiB, Tag::temporary);
  EXPECT_EQ(addr(again), addr(w));
  EXPECT_EQ(a->stats().segment.allocated, 1);
  a->deallocate(again);
  a->empty_cache();
  s = a->stats();
  EXPECT_EQ(s.reserved_bytes.current, 0);
  EXPECT_EQ(s.segment.freed, 1);
  EXPECT_EQ(a->backing_held(), 0u);
}

TEST(BuddyStrategy, ReleaseKeepsRootsWithALiveBlock) {
  auto a = virtual_allocator("buddy");
  const Allocation kept = a->allocate(4 * KiB, Tag::temporary);
  a->deallocate(a->allocate(5 * MiB, Tag::activation));  // an 8 MiB root, now wholly free
  EXPECT_EQ(a->stats().reserved_bytes.current, static_cast<std::int64_t>(10 * MiB));
  a->empty_cache();
  EXPECT_EQ(a->stats().reserved_bytes.current, static_cast<std::int64_t>(2 * MiB));
  EXPECT_EQ(a->cache_state().free_bytes, 2 * MiB - 4 * KiB);
  a->deallocate(kept);
}

TEST(BuddyStrategy, BlocksAreNotSharedAcrossStreams) {
  auto a = virtual_allocator("buddy");
  const Allocation one = a->allocate(4 * KiB, Tag::temporary, /*stream=*/1);
  const Allocation two = a->allocate(4 * KiB, Tag::temporary, /*stream=*/2);
  EXPECT_EQ(a->stats().segment.current, 2);
  EXPECT_EQ(addr(two), addr(one) + 2 * MiB);
  // Stream 1's free 4 KiB buddy serves stream 1, not stream 2.
  const Allocation again = a->allocate(4 * KiB, Tag::temporary, /*stream=*/1);
  EXPECT_EQ(addr(again), addr(one) + 4 * KiB);
  for (const auto& b : {one, two, again}) a->deallocate(b);
}

}  // namespace
}  // namespace tally
