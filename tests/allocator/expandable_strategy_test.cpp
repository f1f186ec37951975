// The expandable strategy against figures computed by hand: 2 MiB pages mapped into one range
// per stream and pool, whole free pages unmapped when the cache is released.
#include "allocator/expandable_strategy.h"

#include <gtest/gtest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "allocator/error.h"
#include "allocator/host_backing.h"
#include "tests/allocator/figures.h"

namespace tally {
namespace {

using test::addr;
using test::virtual_allocator;

std::int64_t reserved(const DeviceAllocator& a) {
  return a.stats().reserved_bytes.current;
}

constexpr auto kMiB = static_cast<std::int64_t>(MiB);

TEST(ExpandableStrategy, OneByteMapsOnePageOfTheSmallPoolsRange) {
  auto a = virtual_allocator("expandable");
  const Allocation block = a->allocate(1, Tag::temporary);
  const AllocatorStats s = a->stats();
  EXPECT_EQ(block.size, 512u);
  EXPECT_EQ(addr(block), VirtualBacking::kDefaultBase);
  EXPECT_EQ(s.reserved_bytes.current, 2 * kMiB);
  EXPECT_EQ(s.segment.current, 1);
  EXPECT_EQ(s.inactive_split_bytes.current, 2 * kMiB - 512);
  a->deallocate(block);
}

// Two 3 MiB blocks: the caching strategy would take a 20 MiB segment; here the second block
// continues the first in the same range, on the first's last 1 MiB and one more page.
TEST(ExpandableStrategy, GrowsInPlaceByWholePages) {
  auto a = virtual_allocator("expandable");
  const Allocation first = a->allocate(3 * MiB, Tag::activation);
  EXPECT_EQ(reserved(*a), 4 * kMiB);
  const Allocation second = a->allocate(3 * MiB, Tag::activation);
  EXPECT_EQ(addr(second), addr(first) + 3 * MiB);
  EXPECT_EQ(reserved(*a), 6 * kMiB);
  EXPECT_EQ(a->stats().segment.allocated, 3);
  EXPECT_EQ(a->cache_state().free_bytes, 0u);
  // A small request goes to the small pool's own range, reserved after the large pool's: room
  // for the whole device (64 GiB) and an eighth more.
  const Allocation small = a->allocate(4 * KiB, Tag::temporary);
  EXPECT_EQ(addr(small), addr(first) + 72 * GiB);
  a->deallocate(first);
  a->deallocate(second);
  a->deallocate(small);
}

// Free blocks up to a page are binned and larger ones kept in a tree; both take the lowest of
// equal blocks, whatever order they were freed in.
TEST(ExpandableStrategy, AmongEqualFreeBlocksTheLowestIsTaken) {
  auto a = virtual_allocator("expandable");
  for (const std::size_t size : {4 * KiB, 3 * MiB}) {
    std::vector<Allocation> blocks;
    for (int i = 0; i < 4; ++i) blocks.push_back(a->allocate(size, Tag::temporary));
    ASSERT_EQ(addr(blocks[2]), addr(blocks[0]) + 2 * size);
    a->deallocate(blocks[2]);
    a->deallocate(blocks[0]);
    blocks[0] = a->allocate(size, Tag::temporary);
    EXPECT_EQ(addr(blocks[0]), addr(blocks[1]) - size) << size;
    blocks[2] = a->allocate(size, Tag::temporary);
    EXPECT_EQ(addr(blocks[2]), addr(blocks[1]) + size) << size;
    for (const Allocation& block : blocks) a->deallocate(block);
  }
}

TEST(ExpandableStrategy, ReleasingTheCacheUnmapsWholeFreePagesAndHolesAreMappedAgain) {
  auto a = virtual_allocator("expandable");
  const Allocation first = a->allocate(3 * MiB, Tag::activation);
  const Allocation second = a->allocate(3 * MiB, Tag::activation);  // [3, 6) MiB: pages 1-2
  a->deallocate(first);
  EXPECT_EQ(a->cache_state().free_bytes, 3 * MiB);
  a->empty_cache();
  // Page 0 was wholly free; [2, 3) MiB shares page 1 with the live block and stays mapped.
  EXPECT_EQ(reserved(*a), 4 * kMiB);
  EXPECT_EQ(a->stats().segment.freed, 1);
  EXPECT_EQ(a->cache_state().free_bytes, MiB);
  // 2 MiB fits in the hole with the free MiB after it: page 0 is mapped again.
  const Allocation third = a->allocate(2 * MiB, Tag::activation);
  EXPECT_EQ(addr(third), addr(first));
  EXPECT_EQ(reserved(*a), 6 * kMiB);
  EXPECT_EQ(a->cache_state().free_bytes, MiB);
  a->deallocate(second);
  a->deallocate(third);
  a->empty_cache();
  EXPECT_EQ(reserved(*a), 0);
  EXPECT_EQ(a->backing_held(), 0u);
}

TEST(ExpandableStrategy, StreamsGrowRangesOfTheirOwn) {
  auto a = virtual_allocator("expandable");
  const Allocation zero = a->allocate(4 * MiB, Tag::activation, 0);
  const Allocation one = a->allocate(4 * MiB, Tag::activation, 1);
  EXPECT_EQ(addr(one), addr(zero) + 72 * GiB);
  EXPECT_EQ(reserved(*a), 8 * kMiB);
  a->deallocate(zero);
  a->deallocate(one);
}

// A limit of 8 MiB: after 6 MiB, a 4 MiB request maps one page and is refused the second; the
// page it mapped is unmapped again, and the error says what was asked.
TEST(ExpandableStrategy, APageRefusedUndoesTheRequestsPagesAndRaisesOutOfMemory) {
  AllocatorConfig config;
  config.strategy = "expandable";
  config.limit = 8 * MiB;
  config.record = true;
  DeviceAllocator a(std::make_unique<VirtualBacking>(GiB), config);
  const Allocation held = a.allocate(6 * MiB, Tag::parameter);
  EXPECT_THROW(a.allocate(4 * MiB, Tag::activation), OutOfMemoryError);
  EXPECT_EQ(reserved(a), 6 * kMiB);
  std::int64_t maps = 0, unmaps = 0;
  for (const Event& e : a.trace().events) {
    if (e.action == Action::segment_alloc || e.action == Action::segment_free) {
      EXPECT_EQ(e.allocated, 2 * MiB);
      ++(e.action == Action::segment_alloc ? maps : unmaps);
    }
  }
  // Three pages, then the fourth twice: before and after the cache was released for a retry.
  EXPECT_EQ(maps, 5);
  EXPECT_EQ(unmaps, 2);
  a.deallocate(held);
}

// On host memory the pages are real: written through, and zero again once unmapped.
TEST(ExpandableStrategy, HostPagesAreWritableAndGivenBackWhenUnmapped) {
  AllocatorConfig config;
  config.strategy = "expandable";
  DeviceAllocator a(std::make_unique<HostBacking>(), config);
  Allocation block = a.allocate(3 * MiB, Tag::activation);
  std::memset(block.ptr, 0xab, 3 * MiB);
  EXPECT_EQ(static_cast<unsigned char*>(block.ptr)[3 * MiB - 1], 0xab);
  EXPECT_EQ(a.backing_held(), 4 * MiB);
  a.deallocate(block);
  a.empty_cache();
  EXPECT_EQ(a.backing_held(), 0u);
  block = a.allocate(3 * MiB, Tag::activation);
  EXPECT_EQ(static_cast<unsigned char*>(block.ptr)[0], 0);
  EXPECT_EQ(static_cast<unsigned char*>(block.ptr)[3 * MiB - 1], 0);
  a.deallocate(block);
}

TEST(ExpandableStrategy, RoundsAndSplitsAsTheCachingStrategyWithAnyRemainderSplitOff) {
  StrategyOptions options;
  options.roundup_power2_divisions.fill(4);
  auto a = virtual_allocator("expandable", 64 * GiB, options);
  const Allocation block = a->allocate(5 * MiB + 1, Tag::activation);
  EXPECT_EQ(block.size, 6 * MiB);
  // 6 MiB of 6 MiB mapped: nothing left over. A 1.5 MiB request then maps one page and leaves
  // 512 KiB free, which the caching strategy's large pool would not split off.
  const Allocation next = a->allocate(1536 * KiB, Tag::activation);
  EXPECT_EQ(addr(next), addr(block) + 6 * MiB);
  EXPECT_EQ(a->cache_state().free_bytes, 512 * KiB);
  a->deallocate(block);
  a->deallocate(next);
}

}  // namespace
}  // namespace tally
