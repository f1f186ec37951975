#include "allocator/replay.h"

#include <gtest/gtest.h>

#include <random>

#include "allocator/device_allocator.h"
#include "allocator/error.h"
#include "allocator/units.h"
#include "allocator/virtual_backing.h"
#include "tests/allocator/figures.h"

namespace tally {
namespace {

using test::block_event;
using test::numbered;

// a and b (1 MiB each) live together, then a is freed and c (512 KiB) takes its place: at most
// 2 MiB asked for at once.
Trace two_then_one() {
  return numbered({block_event(Action::alloc, 1, 1 * MiB), block_event(Action::alloc, 2, 1 * MiB),
                   block_event(Action::free, 1, 0), block_event(Action::alloc, 3, 512 * KiB),
                   block_event(Action::free, 2, 0), block_event(Action::free, 3, 0)});
}

TEST(Replay, HandComputedFiguresForCachingAndDirect) {
  const ReplayResult caching = replay(two_then_one(), "caching");
  EXPECT_EQ(caching.lower_bound, static_cast<std::int64_t>(2 * MiB));
  // Both fit one 2 MiB small-pool segment; c reuses a's block.
  EXPECT_EQ(caching.peak_reserved, static_cast<std::int64_t>(2 * MiB));
  EXPECT_EQ(caching.peak_allocated, static_cast<std::int64_t>(2 * MiB));
  EXPECT_EQ(caching.segment_allocs, 1);
  EXPECT_EQ(caching.segment_frees, 0);
  EXPECT_EQ(caching.events, 6u);
  EXPECT_DOUBLE_EQ(caching.reserved_over_bound(), 1.0);

  // One segment per block, returned at free: 3 obtained and 3 returned.
  const ReplayResult direct = replay(two_then_one(), "direct");
  EXPECT_EQ(direct.peak_reserved, static_cast<std::int64_t>(2 * MiB));
  EXPECT_EQ(direct.segment_allocs, 3);
  EXPECT_EQ(direct.segment_frees, 3);
  EXPECT_EQ(direct.segment_calls(), 6);
}

TEST(Replay, RecordedTraceReplaysToTheSamePeaks) {
  AllocatorConfig config;
  config.record = true;
  DeviceAllocator recorded(std::make_unique<VirtualBacking>(std::size_t{1} << 40), config);
  std::mt19937_64 rng(7);
  std::vector<Allocation> live;
  for (int i = 0; i < 5000; ++i) {
    if (!live.empty() && rng() % 3 == 0) {
      const std::size_t k = rng() % live.size();
      recorded.deallocate(live[k]);
      live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
    } else {
      const std::size_t bytes = 1 + rng() % (rng() % 8 == 0 ? 30 * MiB : 300 * KiB);
      live.push_back(recorded.allocate(bytes, Tag::temporary));
      if (rng() % 4 == 0) recorded.retag(live.back(), Tag::activation);
    }
  }
  for (const Allocation& a : live) recorded.deallocate(a);
  const AllocatorStats s = recorded.stats();
  const ReplayResult r = replay(recorded.trace(), "caching");
  EXPECT_EQ(r.peak_reserved, s.reserved_bytes.peak);
  EXPECT_EQ(r.peak_allocated, s.total.allocated_bytes.peak);
  EXPECT_EQ(r.lower_bound, s.total.requested_bytes.peak);
  EXPECT_GE(r.peak_reserved, r.lower_bound);
}

TEST(Replay, InconsistentTracesNameTheEvent) {
  Trace t = two_then_one();
  t.events.erase(t.events.begin());  // a is freed without being allocated
  try {
    replay(t, "caching");
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("event 2 (free at 1): frees a block that is not live"),
              std::string::npos)
        << e.what();
  }
  EXPECT_THROW(replay(two_then_one(), "no-such-strategy"), Error);
}

}  // namespace
}  // namespace tally
