// The caching strategy against figures computed by hand from its documented rules.
#include "allocator/caching_strategy.h"

#include <gtest/gtest.h>

#include <memory>
#include <utility>
#include <vector>

#include "tests/allocator/descending_backing.h"
#include "tests/allocator/figures.h"

namespace tally {
namespace {

using test::addr;
using test::descending_allocator;
using test::DescendingBacking;
using test::virtual_allocator;

TEST(CachingStrategy, OneByteTakesA512ByteBlockOfA2MiBSegment) {
  auto a = virtual_allocator("caching");
  const Allocation block = a->allocate(1, Tag::temporary);
  const AllocatorStats s = a->stats();
  EXPECT_EQ(block.size, 512u);
  EXPECT_EQ(s.total.requested_bytes.current, 1);
  EXPECT_EQ(s.total.allocated_bytes.current, 512);
  EXPECT_EQ(s.reserved_bytes.current, static_cast<std::int64_t>(2 * MiB));
  EXPECT_EQ(s.segment.current, 1);
  // The rest of the segment is a free block of a partly used segment.
  EXPECT_EQ(s.inactive_split_bytes.current, static_cast<std::int64_t>(2 * MiB - 512));
  EXPECT_EQ(s.inactive_split.current, 1);
  a->deallocate(block);
}

TEST(CachingStrategy, RoundsEveryRequestUpTo512Bytes) {
  EXPECT_EQ(CachingRules::round_size(0), 512u);
  EXPECT_EQ(CachingRules::round_size(512), 512u);
  EXPECT_EQ(CachingRules::round_size(513), 1024u);
  EXPECT_EQ(CachingRules::round_size(1000 * 1000), 1000448u);
}

// PyTorch's roundup_power2_divisions: the next of N equal steps between two powers of two, for
// requests above 512 B x N; powers of two and smaller requests keep 512-byte rounding.
TEST(CachingStrategy, RoundupPower2DivisionsRoundsToEqualStepsBetweenPowersOfTwo) {
  EXPECT_EQ(CachingRules::round_size(MiB + 1, 4), MiB + 256 * KiB);
  EXPECT_EQ(CachingRules::round_size(MiB + 256 * KiB, 4), MiB + 256 * KiB);
  EXPECT_EQ(CachingRules::round_size(5 * MiB + 1, 8), 5 * MiB + 512 * KiB);
  EXPECT_EQ(CachingRules::round_size(3000, 4), 3072u);  // 2 KiB + 512 B steps
  EXPECT_EQ(CachingRules::round_size(1200, 4), 1536u);  // not above 512 B x 4
  EXPECT_EQ(CachingRules::round_size(8 * MiB, 4), 8 * MiB);
  EXPECT_EQ(CachingRules::round_size(MiB + 1, 1), MiB + 512);
  StrategyOptions options;
  options.roundup_power2_divisions[0] = 2;
  options.roundup_power2_divisions[1] = 4;
  EXPECT_EQ(CachingRules::divisions_for(options, 1536 * KiB), 2u);  // below 2 MiB
  EXPECT_EQ(CachingRules::divisions_for(options, 3 * MiB), 4u);     // [2 MiB, 4 MiB)
  EXPECT_EQ(CachingRules::divisions_for(options, 4 * MiB), 0u);
  auto a = virtual_allocator("caching", 64 * GiB, options);
  const Allocation block = a->allocate(5 * MiB / 2 + 1, Tag::activation);
  EXPECT_EQ(block.size, 3 * MiB);
  a->deallocate(block);
}

// garbage_collection_threshold 0.5 of a 100 MiB limit: a miss with more than 50 MiB reserved
// returns the cached whole segments at least as old (in large-pool lookups) as their average.
TEST(CachingStrategy, GarbageCollectionReturnsTheOldestCachedSegments) {
  AllocatorConfig config;
  config.limit = 100 * MiB;
  config.strategy_options.garbage_collection_threshold = 0.5;
  DeviceAllocator a(std::make_unique<VirtualBacking>(GiB), config);
  const Allocation x = a.allocate(20 * MiB, Tag::activation);  // lookups 1-3, 66 MiB reserved
  Allocation y = a.allocate(22 * MiB, Tag::activation);
  const Allocation z = a.allocate(24 * MiB, Tag::activation);
  a.deallocate(x);  // free at lookup 3
  a.deallocate(y);
  for (int i = 0; i < 2; ++i) {  // y's segment is reused at lookups 4 and 5
    y = a.allocate(22 * MiB, Tag::activation);
    a.deallocate(y);
  }
  // Lookup 6 misses: ages are x 3, y 1, average 2, so only x's 20 MiB go, which is enough.
  const Allocation w = a.allocate(30 * MiB, Tag::activation);
  AllocatorStats s = a.stats();
  EXPECT_EQ(s.reserved_bytes.current, static_cast<std::int64_t>(76 * MiB));
  EXPECT_EQ(s.segment.freed, 1);
  EXPECT_EQ(a.cache_state().free_bytes, 22 * MiB);
  a.deallocate(z);
  a.deallocate(w);
  // Without the threshold nothing is returned before the limit forces it.
  config.strategy_options.garbage_collection_threshold = 0;
  DeviceAllocator b(std::make_unique<VirtualBacking>(GiB), config);
  const Allocation bx = b.allocate(20 * MiB, Tag::activation);
  b.deallocate(bx);
  const Allocation by = b.allocate(30 * MiB, Tag::activation);
  EXPECT_EQ(b.stats().reserved_bytes.current, static_cast<std::int64_t>(50 * MiB));
  b.deallocate(by);
}

TEST(CachingStrategy, SegmentSizesFollowThePoolRules) {
  EXPECT_EQ(CachingRules::segment_size(512), 2 * MiB);
  EXPECT_EQ(CachingRules::segment_size(1 * MiB), 2 * MiB);
  EXPECT_EQ(CachingRules::segment_size(1 * MiB + 512), 20 * MiB);
  EXPECT_EQ(CachingRules::segment_size(10 * MiB - 512), 20 * MiB);
  EXPECT_EQ(CachingRules::segment_size(10 * MiB), 10 * MiB);
  EXPECT_EQ(CachingRules::segment_size(11 * MiB), 12 * MiB);
  EXPECT_EQ(CachingRules::segment_size(12 * MiB), 12 * MiB);
}

TEST(CachingStrategy, Two700KiBRequestsShareOne2MiBSegment) {
  auto a = virtual_allocator("caching");
  const Allocation first = a->allocate(700 * KiB, Tag::activation);
  const Allocation second = a->allocate(700 * KiB, Tag::activation);
  const AllocatorStats s = a->stats();
  EXPECT_EQ(s.reserved_bytes.current, static_cast<std::int64_t>(2 * MiB));
  EXPECT_EQ(s.segment.current, 1);
  EXPECT_EQ(s.total.allocated_bytes.current, static_cast<std::int64_t>(1400 * KiB));
  EXPECT_EQ(addr(second), addr(first) + 700 * KiB);
  EXPECT_EQ(s.inactive_split_bytes.current, static_cast<std::int64_t>(648 * KiB));
  a->deallocate(first);
  a->deallocate(second);
}

TEST(CachingStrategy, OneAndAHalfMiBTakesA20MiBSegmentAndSplitsIt) {
  auto a = virtual_allocator("caching");
  const Allocation block = a->allocate(1536 * KiB, Tag::activation);
  AllocatorStats s = a->stats();
  EXPECT_EQ(block.size, 1536 * KiB);
  EXPECT_EQ(s.reserved_bytes.current, static_cast<std::int64_t>(20 * MiB));
  EXPECT_EQ(a->cache_state().free_bytes, 20 * MiB - 1536 * KiB);
  // The 18.5 MiB remainder serves a later large request from the same segment.
  const Allocation rest = a->allocate(18 * MiB + 512 * KiB, Tag::activation);
  s = a->stats();
  EXPECT_EQ(s.segment.current, 1);
  EXPECT_EQ(addr(rest), addr(block) + 1536 * KiB);
  a->deallocate(block);
  a->deallocate(rest);
}

TEST(CachingStrategy, TwelveMiBTakesA12MiBSegmentOfItsOwn) {
  auto a = virtual_allocator("caching");
  const Allocation block = a->allocate(12 * MiB, Tag::parameter);
  const AllocatorStats s = a->stats();
  EXPECT_EQ(block.size, 12 * MiB);
  EXPECT_EQ(s.reserved_bytes.current, static_cast<std::int64_t>(12 * MiB));
  EXPECT_EQ(a->cache_state().free_bytes, 0u);
  a->deallocate(block);
}

TEST(CachingStrategy, LargeRemainderOfAtMostOneMiBIsNotSplitOff) {
  auto a = virtual_allocator("caching");
  // 11 MiB + 1 B rounds to 11 MiB + 512, its segment to 12 MiB; the 1 MiB - 512 B remainder is
  // too small to split in the large pool, so the block is the whole segment.
  const Allocation block = a->allocate(11 * MiB + 1, Tag::parameter);
  const AllocatorStats s = a->stats();
  EXPECT_EQ(block.size, 12 * MiB);
  EXPECT_EQ(s.total.requested_bytes.current, static_cast<std::int64_t>(11 * MiB + 1));
  EXPECT_EQ(s.total.allocated_bytes.current, static_cast<std::int64_t>(12 * MiB));
  EXPECT_EQ(s.inactive_split_bytes.current, 0);
  a->deallocate(block);
}

TEST(CachingStrategy, FreedNeighboursCoalesceAndWholeSegmentsAreReleased) {
  auto a = virtual_allocator("caching");
  const Allocation x = a->allocate(256 * KiB, Tag::temporary);
  const Allocation y = a->allocate(256 * KiB, Tag::temporary);
  const Allocation z = a->allocate(256 * KiB, Tag::temporary);
  ASSERT_EQ(a->stats().inactive_split.current, 1);  // the tail of the segment

  a->deallocate(y);  // a hole between x and z
  EXPECT_EQ(a->stats().inactive_split.current, 2);
  EXPECT_EQ(a->stats().inactive_split_bytes.current,
            static_cast<std::int64_t>(2 * MiB - 512 * KiB));

  a->deallocate(x);  // x and y merge
  EXPECT_EQ(a->stats().inactive_split.current, 2);
  EXPECT_EQ(a->largest_free_block(), 2 * MiB - 768 * KiB);

  a->deallocate(z);  // everything merges back into one free segment
  AllocatorStats s = a->stats();
  EXPECT_EQ(s.inactive_split.current, 0);
  EXPECT_EQ(s.inactive_split_bytes.current, 0);
  EXPECT_EQ(a->largest_free_block(), 2 * MiB);
  EXPECT_EQ(s.reserved_bytes.current, static_cast<std::int64_t>(2 * MiB));

  // The cached segment serves the next request without a new segment.
  const Allocation again = a->allocate(512 * KiB, Tag::temporary);
  EXPECT_EQ(addr(again), addr(x));
  EXPECT_EQ(a->stats().segment.allocated, 1);
  a->deallocate(again);

  a->empty_cache();
  s = a->stats();
  EXPECT_EQ(s.reserved_bytes.current, 0);
  EXPECT_EQ(s.segment.freed, 1);
  EXPECT_EQ(a->backing_held(), 0u);
}

TEST(CachingStrategy, BestFitTakesTheSmallestHoleThatFits) {
  auto a = virtual_allocator("caching");
  const Allocation p = a->allocate(128 * KiB, Tag::temporary);
  const Allocation q = a->allocate(64 * KiB, Tag::temporary);
  const Allocation r = a->allocate(64 * KiB, Tag::temporary);
  const Allocation s = a->allocate(64 * KiB, Tag::temporary);
  a->deallocate(p);  // a 128 KiB hole at the start
  a->deallocate(r);  // a 64 KiB hole between q and s
  const Allocation fits_small = a->allocate(60 * KiB, Tag::temporary);
  EXPECT_EQ(addr(fits_small), addr(r));
  const Allocation fits_large = a->allocate(100 * KiB, Tag::temporary);
  EXPECT_EQ(addr(fits_large), addr(p));
  for (const auto& b : {q, s, fits_small, fits_large}) a->deallocate(b);
}

TEST(CachingStrategy, BlocksAreNotSharedAcrossStreams) {
  auto a = virtual_allocator("caching");
  a->deallocate(a->allocate(4 * KiB, Tag::temporary, /*stream=*/1));
  const Allocation other = a->allocate(4 * KiB, Tag::temporary, /*stream=*/2);
  EXPECT_EQ(a->stats().reserved_bytes.current, static_cast<std::int64_t>(4 * MiB));
  a->deallocate(other);
  const Allocation same = a->allocate(4 * KiB, Tag::temporary, /*stream=*/1);
  EXPECT_EQ(a->stats().segment.allocated, 2);
  a->deallocate(same);
}

TEST(CachingStrategy, MaxSplitSizeKeepsOversizeBlocksWhole) {
  StrategyOptions options;
  options.max_split_size = 32 * MiB;
  auto a = virtual_allocator("caching", 64 * GiB, options);

  a->deallocate(a->allocate(60 * MiB, Tag::activation));  // a cached 60 MiB oversize block
  // A request below max_split_size never takes an oversize block.
  const Allocation small = a->allocate(2 * MiB, Tag::activation);
  EXPECT_EQ(a->stats().reserved_bytes.current, static_cast<std::int64_t>(80 * MiB));
  // An oversize request takes it whole when it wastes less than 20 MiB ...
  const Allocation big = a->allocate(45 * MiB, Tag::activation);
  EXPECT_EQ(big.size, 60 * MiB);
  EXPECT_EQ(a->stats().reserved_bytes.current, static_cast<std::int64_t>(80 * MiB));
  a->deallocate(big);
  // ... and not when it would waste 20 MiB or more.
  const Allocation smaller = a->allocate(36 * MiB, Tag::activation);
  EXPECT_EQ(smaller.size, 36 * MiB);
  EXPECT_EQ(a->stats().reserved_bytes.current, static_cast<std::int64_t>(116 * MiB));
  a->deallocate(smaller);
  a->deallocate(small);
}

TEST(CachingStrategy, WithoutMaxSplitSizeLargeBlocksAreSplit) {
  auto a = virtual_allocator("caching");
  a->deallocate(a->allocate(40 * MiB, Tag::activation));
  const Allocation part = a->allocate(12 * MiB, Tag::activation);
  EXPECT_EQ(part.size, 12 * MiB);
  EXPECT_EQ(a->stats().reserved_bytes.current, static_cast<std::int64_t>(40 * MiB));
  EXPECT_EQ(a->cache_state().inactive_split_bytes, 28 * MiB);
  a->deallocate(part);
}

// Ties among free blocks of one size go to the oldest segment, and cached segments are released
// oldest first, whatever addresses the backing chose: over DescendingBacking the oldest segment
// is the highest, so choosing by address would take the newest.
constexpr std::uintptr_t kTop = DescendingBacking::kTop;

TEST(CachingStrategy, AmongEqualLargeBlocksTheOldestSegmentsIsTaken) {
  auto a = descending_allocator("caching");
  const Allocation old_block = a->allocate(12 * MiB, Tag::activation);    // top - 12 MiB
  const Allocation young_block = a->allocate(12 * MiB, Tag::activation);  // top - 24 MiB
  ASSERT_EQ(addr(old_block), kTop - 12 * MiB);
  ASSERT_EQ(addr(young_block), kTop - 24 * MiB);
  a->deallocate(young_block);
  a->deallocate(old_block);
  const Allocation taken = a->allocate(12 * MiB, Tag::activation);
  EXPECT_EQ(addr(taken), kTop - 12 * MiB);
  EXPECT_EQ(a->stats().segment.allocated, 2);
  a->deallocate(taken);
}

TEST(CachingStrategy, CachedSegmentsAreReleasedOldestFirst) {
  auto a = descending_allocator("caching");
  // Segments 0, 1 and 2: 12 MiB at top - 12 MiB, the small pool's 2 MiB at top - 14 MiB, 12 MiB
  // at top - 26 MiB. Freed youngest first, small pool last.
  const Allocation first = a->allocate(12 * MiB, Tag::activation);
  const Allocation second = a->allocate(4 * KiB, Tag::temporary);
  const Allocation third = a->allocate(12 * MiB, Tag::activation);
  a->deallocate(third);
  a->deallocate(first);
  a->deallocate(second);
  a->empty_cache();
  std::vector<std::pair<std::uint64_t, std::uint64_t>> freed;  // (address, bytes)
  for (const Event& e : a->trace().events) {
    if (e.action == Action::segment_free) freed.emplace_back(e.address, e.allocated);
  }
  const std::vector<std::pair<std::uint64_t, std::uint64_t>> oldest_first{
      {kTop - 12 * MiB, 12 * MiB}, {kTop - 14 * MiB, 2 * MiB}, {kTop - 26 * MiB, 12 * MiB}};
  EXPECT_EQ(freed, oldest_first);
}

}  // namespace
}  // namespace tally
