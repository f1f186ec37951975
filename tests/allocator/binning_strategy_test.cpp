// The binning strategy against figures computed by hand: power-of-two classes from 512 B to
// 1 MiB in 2 MiB slabs, larger requests through the fallback.
#include "allocator/binning_strategy.h"

#include <gtest/gtest.h>

#include "allocator/error.h"
#include "tests/allocator/figures.h"

namespace tally {
namespace {

using test::addr;
using test::virtual_allocator;

TEST(BinningStrategy, ClassesArePowersOfTwoUpTo1MiBThenTheFallbacksRounding) {
  auto a = virtual_allocator("binning");
  const Allocation one = a->allocate(1, Tag::temporary);
  const Allocation mid = a->allocate(700 * KiB, Tag::temporary);
  const Allocation top = a->allocate(1 * MiB, Tag::temporary);
  const Allocation over = a->allocate(1 * MiB + 1, Tag::activation);
  EXPECT_EQ(one.size, 512u);
  EXPECT_EQ(mid.size, 1 * MiB);
  EXPECT_EQ(top.size, 1 * MiB);
  EXPECT_EQ(over.size, 1 * MiB + 512);  // caching's 512-byte rounding
  // A 512 B slab, one 1 MiB slab holding both 1 MiB blocks, caching's 20 MiB segment.
  const AllocatorStats s = a->stats();
  EXPECT_EQ(s.segment.current, 3);
  EXPECT_EQ(s.reserved_bytes.current, static_cast<std::int64_t>(24 * MiB));
  EXPECT_EQ(addr(top), addr(mid) + 1 * MiB);
  for (const auto& b : {one, mid, top, over}) a->deallocate(b);
}

TEST(BinningStrategy, ASlabIsCarvedIntoEqualBlocksLowestFirst) {
  auto a = virtual_allocator("binning");
  const Allocation first = a->allocate(1, Tag::temporary);
  const Allocation second = a->allocate(300, Tag::temporary);
  const Allocation third = a->allocate(512, Tag::temporary);
  EXPECT_EQ(addr(second), addr(first) + 512);
  EXPECT_EQ(addr(third), addr(first) + 1024);
  AllocatorStats s = a->stats();
  EXPECT_EQ(s.segment.current, 1);
  // 4096 blocks of 512 B, 3 live.
  EXPECT_EQ(s.inactive_split.current, 4093);
  EXPECT_EQ(s.inactive_split_bytes.current, static_cast<std::int64_t>(2 * MiB - 1536));
  EXPECT_EQ(a->largest_free_block(), 512u);

  a->deallocate(second);
  a->deallocate(first);
  // The lowest free block is taken again, whatever order the frees came in.
  const Allocation again = a->allocate(100, Tag::temporary);
  EXPECT_EQ(addr(again), addr(first));
  // Another class never shares the slab.
  const Allocation kib = a->allocate(1 * KiB, Tag::temporary);
  s = a->stats();
  EXPECT_EQ(s.segment.current, 2);
  EXPECT_EQ(addr(kib), addr(first) + 2 * MiB);
  for (const auto& b : {third, again, kib}) a->deallocate(b);
}

TEST(BinningStrategy, AFullSlabMakesWayForANewOne) {
  auto a = virtual_allocator("binning");
  const Allocation x = a->allocate(1 * MiB, Tag::temporary);
  const Allocation y = a->allocate(1 * MiB, Tag::temporary);
  EXPECT_EQ(a->cache_state().free_bytes, 0u);
  EXPECT_EQ(a->largest_free_block(), 0u);
  const Allocation z = a->allocate(1 * MiB, Tag::temporary);
  EXPECT_EQ(addr(z), addr(x) + 2 * MiB);
  EXPECT_EQ(a->stats().segment.current, 2);
  // Freeing y reopens the older slab, which the next request takes.
  a->deallocate(y);
  const Allocation w = a->allocate(1 * MiB, Tag::temporary);
  EXPECT_EQ(addr(w), addr(y));
  for (const auto& b : {x, z, w}) a->deallocate(b);
}

TEST(BinningStrategy, CacheStateCombinesTheBinsAndTheFallback) {
  auto a = virtual_allocator("binning");
  const Allocation small = a->allocate(512, Tag::temporary);
  const Allocation large = a->allocate(1536 * KiB, Tag::activation);
  const AllocatorStats s = a->stats();
  EXPECT_EQ(s.reserved_bytes.current, static_cast<std::int64_t>(22 * MiB));
  EXPECT_EQ(a->cache_state().free_bytes, (2 * MiB - 512) + (20 * MiB - 1536 * KiB));
  // 4095 free class blocks in the slab, and the 18.5 MiB rest of caching's segment.
  EXPECT_EQ(s.inactive_split.current, 4096);
  EXPECT_EQ(a->largest_free_block(), 20 * MiB - 1536 * KiB);
  a->deallocate(small);
  a->deallocate(large);
}

TEST(BinningStrategy, ReleaseReturnsEmptySlabsAndTheFallbacksCache) {
  auto a = virtual_allocator("binning");
  const Allocation kept = a->allocate(4 * KiB, Tag::temporary);
  a->deallocate(a->allocate(8 * KiB, Tag::temporary));
  a->deallocate(a->allocate(12 * MiB, Tag::activation));
  EXPECT_EQ(a->stats().reserved_bytes.current, static_cast<std::int64_t>(16 * MiB));
  a->empty_cache();
  const AllocatorStats s = a->stats();
  EXPECT_EQ(s.reserved_bytes.current, static_cast<std::int64_t>(2 * MiB));
  EXPECT_EQ(s.segment.freed, 2);
  EXPECT_EQ(a->cache_state().free_bytes, 2 * MiB - 4 * KiB);
  a->deallocate(kept);
}

TEST(BinningStrategy, TheFallbackIsChosenByOption) {
  StrategyOptions options;
  options.binning_fallback = "direct";
  auto a = virtual_allocator("binning", 64 * GiB, options);
  const Allocation large = a->allocate(1536 * KiB, Tag::activation);
  EXPECT_EQ(a->stats().reserved_bytes.current, static_cast<std::int64_t>(1536 * KiB));
  a->deallocate(large);
  EXPECT_EQ(a->stats().reserved_bytes.current, 0);
}

TEST(BinningStrategy, RefusesItselfOrAnUnknownStrategyAsFallback) {
  for (const char* fallback : {"binning", "nonesuch"}) {
    StrategyOptions options;
    options.binning_fallback = fallback;
    EXPECT_THROW(virtual_allocator("binning", 64 * GiB, options), UsageError) << fallback;
  }
}

TEST(BinningStrategy, SlabsAreNotSharedAcrossStreams) {
  auto a = virtual_allocator("binning");
  const Allocation one = a->allocate(4 * KiB, Tag::temporary, /*stream=*/1);
  const Allocation two = a->allocate(4 * KiB, Tag::temporary, /*stream=*/2);
  const Allocation again = a->allocate(4 * KiB, Tag::temporary, /*stream=*/1);
  EXPECT_EQ(addr(two), addr(one) + 2 * MiB);
  EXPECT_EQ(addr(again), addr(one) + 4 * KiB);
  EXPECT_EQ(a->stats().segment.current, 2);
  for (const auto& b : {one, two, again}) a->deallocate(b);
}

}  // namespace
}  // namespace tally
