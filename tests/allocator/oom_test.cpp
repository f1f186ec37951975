// Out of memory under a limit: the error says what happened, and the allocator stays usable.
#include <gtest/gtest.h>

#include "allocator/error.h"
#include "tests/allocator/figures.h"

namespace tally {
namespace {

std::unique_ptr<DeviceAllocator> limited(std::size_t limit, const std::string& strategy) {
  AllocatorConfig config;
  config.strategy = strategy;
  config.limit = limit;
  return std::make_unique<DeviceAllocator>(std::make_unique<VirtualBacking>(1 * GiB), config);
}

std::string oom_message(DeviceAllocator& a, std::size_t bytes, Tag tag) {
  try {
    a.allocate(bytes, tag);
  } catch (const OutOfMemoryError& e) {
    EXPECT_EQ(e.requested(), bytes);
    EXPECT_EQ(e.code(), "out_of_memory");
    return e.what();
  }
  ADD_FAILURE() << "no OutOfMemoryError for " << bytes << " bytes";
  return {};
}

TEST(OutOfMemory, MessageNamesTheRequestAndTheAllocatorState) {
  auto a = limited(64 * MiB, "caching");
  const Allocation weights = a->allocate(30 * MiB, Tag::parameter);
  const Allocation saved = a->allocate(24 * MiB, Tag::activation);
  const Allocation small = a->allocate(1 * MiB, Tag::temporary);  // leaves 1 MiB free in 2 MiB
  // 56 MiB reserved; 8 MiB needs a 20 MiB segment: over the 64 MiB limit even after the retry.
  const std::string message = oom_message(*a, 8 * MiB, Tag::workspace);
  EXPECT_EQ(message.find('\n'), std::string::npos);
  for (const char* part :
       {"asked 8.00 MiB", "(8388608 B, 8.00 MiB rounded) for workspace",
        "limit 64.00 MiB (capacity 1.00 GiB)", "allocated 55.00 MiB", "reserved 56.00 MiB",
        "free in cache 1.00 MiB", "largest free block 1.00 MiB",
        "top tags: parameter 30.00 MiB, activation 24.00 MiB, temporary 1.00 MiB"}) {
    EXPECT_NE(message.find(part), std::string::npos) << "missing '" << part << "' in: " << message;
  }
  const AllocatorStats s = a->stats();
  EXPECT_EQ(s.num_ooms, 1);
  EXPECT_EQ(s.num_alloc_retries, 1);
  EXPECT_EQ(s.total.allocated_bytes.current, static_cast<std::int64_t>(55 * MiB));
  EXPECT_EQ(s.reserved_bytes.current, static_cast<std::int64_t>(56 * MiB));
  EXPECT_EQ(a->live_blocks().size(), 3u);
  for (const auto& b : {weights, saved, small}) a->deallocate(b);
}

TEST(OutOfMemory, RetryReleasesCachedSegmentsThenSucceeds) {
  auto a = limited(64 * MiB, "caching");
  const Allocation keep = a->allocate(30 * MiB, Tag::parameter);
  // Cached on another stream, so it cannot serve the next request but can be released.
  a->deallocate(a->allocate(30 * MiB, Tag::activation, /*stream=*/1));
  ASSERT_EQ(a->stats().reserved_bytes.current, static_cast<std::int64_t>(60 * MiB));
  // A 20 MiB segment fits only once the cached 30 MiB segment is released.
  const Allocation fresh = a->allocate(8 * MiB, Tag::temporary);
  const AllocatorStats s = a->stats();
  EXPECT_EQ(s.num_alloc_retries, 1);
  EXPECT_EQ(s.num_ooms, 0);
  EXPECT_EQ(s.reserved_bytes.current, static_cast<std::int64_t>(50 * MiB));
  a->deallocate(fresh);
  a->deallocate(keep);
}

TEST(OutOfMemory, AllocatorIsUsableAfterwards) {
  for (const std::string& strategy : strategy_names()) {
    auto a = limited(32 * MiB, strategy);
    const Allocation big = a->allocate(24 * MiB, Tag::activation);
    EXPECT_THROW(a->allocate(16 * MiB, Tag::activation), OutOfMemoryError) << strategy;
    EXPECT_EQ(a->stats().total.allocated_bytes.current, static_cast<std::int64_t>(big.size))
        << strategy;
    a->deallocate(big);
    const Allocation again = a->allocate(16 * MiB, Tag::activation);
    EXPECT_TRUE(again) << strategy;
    a->deallocate(again);
    a->empty_cache();
    EXPECT_EQ(a->stats().reserved_bytes.current, 0) << strategy;
    EXPECT_EQ(a->stats().num_ooms, 1) << strategy;
  }
}

TEST(OutOfMemory, RequestsNearTheAddressSpaceDoNotOverflow) {
  for (const std::string& strategy : strategy_names()) {
    auto a = limited(64 * MiB, strategy);
    for (const std::size_t bytes : {SIZE_MAX, SIZE_MAX - 100, SIZE_MAX / 2 + 1}) {
      EXPECT_THROW(a->allocate(bytes, Tag::activation), OutOfMemoryError) << strategy;
    }
    const AllocatorStats s = a->stats();
    EXPECT_EQ(s.num_ooms, 3);
    EXPECT_EQ(s.total.requested_bytes.current, 0);
    EXPECT_EQ(s.reserved_bytes.current, 0);
  }
}

TEST(OutOfMemory, BackingCapacityIsALimitToo) {
  auto a = test::virtual_allocator("caching", 16 * MiB);
  EXPECT_THROW(a->allocate(17 * MiB, Tag::parameter), OutOfMemoryError);
  try {
    a->allocate(17 * MiB, Tag::parameter);
  } catch (const OutOfMemoryError& e) {
    EXPECT_NE(std::string(e.what()).find("capacity 16.00 MiB"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace tally
