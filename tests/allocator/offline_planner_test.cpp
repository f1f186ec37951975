// The offline planner against hand-packed traces, and on random traces the properties every
// plan must have: no two blocks whose lifetimes meet share a byte, and the arena is at least the
// lower bound.
#include "allocator/offline_planner.h"

#include <gtest/gtest.h>

#include <random>
#include <vector>

#include "allocator/error.h"

namespace tally {
namespace {

// Builds a trace of block events: alloc(address, bytes) and free(address), in order.
class TraceBuilder {
 public:
  TraceBuilder& alloc(std::uint64_t address, std::uint64_t bytes) {
    return add(Action::alloc, address, bytes);
  }
  TraceBuilder& free(std::uint64_t address) { return add(Action::free, address, 0); }
  const Trace& trace() const { return trace_; }

 private:
  TraceBuilder& add(Action action, std::uint64_t address, std::uint64_t bytes) {
    Event e;
    e.seq = trace_.events.size();
    e.action = action;
    e.address = address;
    e.requested = e.allocated = bytes;
    if (action == Action::alloc) e.tag = Tag::temporary;
    trace_.events.push_back(e);
    return *this;
  }
  Trace trace_{{"cpu"}, {}};
};

TEST(OfflinePlanner, NestedLifetimesStackToTheLowerBound) {
  TraceBuilder t;
  t.alloc(1, 100).alloc(2, 50).free(2).alloc(3, 30).free(3).free(1);
  const OfflinePlan plan = plan_offline(t.trace(), 0, 1);
  EXPECT_EQ(plan.lower_bound, 150);
  EXPECT_EQ(plan.arena_bytes, 150);
  EXPECT_EQ(plan.blocks[0].offset, 0);
  EXPECT_EQ(plan.blocks[1].offset, 100);
  EXPECT_EQ(plan.blocks[2].offset, 100);  // 2 is gone by then: 3 reuses its bytes
}

// The pattern that defeats a first-fit allocator deciding online: a small block allocated
// between two large ones outlives them, so a later block twice their size cannot use their hole.
// Knowing every lifetime, the planner puts the small block above the large ones.
TEST(OfflinePlanner, PlacesALongLivedSmallBlockOutOfTheWay) {
  TraceBuilder t;
  t.alloc(1, 64).alloc(2, 8).alloc(3, 64).free(1).free(3).alloc(4, 128).free(4).free(2);
  const OfflinePlan plan = plan_offline(t.trace(), 0, 1);
  EXPECT_EQ(plan.lower_bound, 136);
  EXPECT_EQ(plan.arena_bytes, 136);
  EXPECT_EQ(plan.blocks[3].offset, 0);    // the 128-byte block, placed first
  EXPECT_EQ(plan.blocks[1].offset, 128);  // the small block above it
}

TEST(OfflinePlanner, RoundsSizesToTheAlignmentAndKeepsUnfreedBlocksToTheEnd) {
  TraceBuilder t;
  t.alloc(1, 1).alloc(2, 300).free(1).alloc(3, 200);
  const OfflinePlan plan = plan_offline(t.trace(), 0, 256);
  EXPECT_EQ(plan.lower_bound, 500);  // 300 + 200, unrounded
  EXPECT_EQ(plan.blocks[1].size, 512);
  EXPECT_EQ(plan.blocks[1].last, 4u);  // never freed: live to the end
  EXPECT_EQ(plan.arena_bytes, 768);    // 512 + 256, the 1-byte block's place reused
}

TEST(OfflinePlanner, RefusesInconsistentTracesAndBadAlignments) {
  TraceBuilder freed_twice;
  freed_twice.alloc(1, 8).free(1).free(1);
  EXPECT_THROW(plan_offline(freed_twice.trace()), DataError);
  TraceBuilder allocated_twice;
  allocated_twice.alloc(1, 8).alloc(1, 8);
  EXPECT_THROW(plan_offline(allocated_twice.trace()), DataError);
  EXPECT_THROW(plan_offline(TraceBuilder().trace(), 0, 3), UsageError);
}

TEST(OfflinePlanner, RandomTracesGetValidPlansAtLeastTheLowerBound) {
  std::mt19937_64 rng(5);
  for (int round = 0; round < 20; ++round) {
    TraceBuilder t;
    std::vector<std::uint64_t> live;
    std::uint64_t next = 1;
    for (int i = 0; i < 300; ++i) {
      if (!live.empty() && rng() % 2 == 0) {
        const std::size_t k = rng() % live.size();
        t.free(live[k]);
        live.erase(live.begin() + static_cast<std::ptrdiff_t>(k));
      } else {
        t.alloc(next, 1 + rng() % 5000);
        live.push_back(next++);
      }
    }
    const OfflinePlan plan = plan_offline(t.trace(), 0, 64);
    EXPECT_GE(plan.arena_bytes, plan.lower_bound);
    for (std::size_t a = 0; a < plan.blocks.size(); ++a) {
      const PlannedBlock& x = plan.blocks[a];
      EXPECT_LE(x.offset + x.size, plan.arena_bytes);
      for (std::size_t b = a + 1; b < plan.blocks.size(); ++b) {
        const PlannedBlock& y = plan.blocks[b];
        const bool meet = x.first < y.last && y.first < x.last;
        const bool overlap = x.offset < y.offset + y.size && y.offset < x.offset + x.size;
        ASSERT_FALSE(meet && overlap) << "blocks " << a << " and " << b << " in round " << round;
      }
    }
  }
}

}  // namespace
}  // namespace tally
