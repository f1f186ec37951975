// The direct strategy: one segment per block, returned at once, nothing cached.
#include <gtest/gtest.h>

#include "tests/allocator/figures.h"

namespace tally {
namespace {

using test::virtual_allocator;

TEST(DirectStrategy, EachAllocationIsOneSegmentOfItsRoundedSize) {
  auto a = virtual_allocator("direct");
  const Allocation tiny = a->allocate(1, Tag::temporary);
  const Allocation first = a->allocate(700 * KiB, Tag::activation);
  const Allocation second = a->allocate(700 * KiB, Tag::activation);
  const AllocatorStats s = a->stats();
  EXPECT_EQ(tiny.size, 512u);
  EXPECT_EQ(s.segment.current, 3);
  EXPECT_EQ(s.reserved_bytes.current, static_cast<std::int64_t>(512 + 1400 * KiB));
  EXPECT_EQ(s.total.allocated_bytes.current, s.reserved_bytes.current);
  EXPECT_EQ(s.total.requested_bytes.current, static_cast<std::int64_t>(1 + 1400 * KiB));
  EXPECT_EQ(s.inactive_split_bytes.current, 0);
  a->deallocate(first);
  EXPECT_EQ(a->stats().reserved_bytes.current, static_cast<std::int64_t>(512 + 700 * KiB));
  a->deallocate(tiny);
  a->deallocate(second);
}

TEST(DirectStrategy, FreeReturnsTheSegmentImmediately) {
  auto a = virtual_allocator("direct");
  a->deallocate(a->allocate(12 * MiB, Tag::parameter));
  const AllocatorStats s = a->stats();
  EXPECT_EQ(s.reserved_bytes.current, 0);
  EXPECT_EQ(s.reserved_bytes.peak, static_cast<std::int64_t>(12 * MiB));
  EXPECT_EQ(s.segment.allocated, 1);
  EXPECT_EQ(s.segment.freed, 1);
  EXPECT_EQ(a->backing_held(), 0u);
  EXPECT_EQ(a->cache_state().free_bytes, 0u);
}

}  // namespace
}  // namespace tally
