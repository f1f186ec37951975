// One invariant harness for every strategy: a long seeded random sequence of allocations,
// frees, retags and cache releases, checked after every operation against the design's
// invariants and against the harness's own count of what is live.
#include <gtest/gtest.h>

#include <array>
#include <map>
#include <random>
#include <sstream>

#include "allocator/error.h"
#include "tests/allocator/figures.h"

namespace tally {
namespace {

constexpr int kOperations = 100'000;

// What the harness itself knows is live, to compare with the allocator's statistics.
struct Reference {
  struct Live {
    Allocation block;
    Tag tag;
  };
  std::vector<Live> live;
  std::map<std::uintptr_t, std::size_t> ranges;  // address -> block size
  std::array<std::int64_t, kTagCount> requested{};
  std::array<std::int64_t, kTagCount> allocated{};

  // Empty when the new block overlaps no live block.
  std::string add(const Allocation& block, Tag tag) {
    const auto address = reinterpret_cast<std::uintptr_t>(block.ptr);
    const auto next = ranges.lower_bound(address);
    if (next != ranges.end() && address + block.size > next->first)
      return "overlaps the next block";
    if (next != ranges.begin() && std::prev(next)->first + std::prev(next)->second > address) {
      return "overlaps the previous block";
    }
    ranges.emplace(address, block.size);
    live.push_back({block, tag});
    count(tag, block, +1);
    return {};
  }
  Live take(std::size_t index) {
    const Live taken = live[index];
    live[index] = live.back();
    live.pop_back();
    ranges.erase(reinterpret_cast<std::uintptr_t>(taken.block.ptr));
    count(taken.tag, taken.block, -1);
    return taken;
  }
  void count(Tag tag, const Allocation& block, int sign) {
    requested[index_of(tag)] += sign * static_cast<std::int64_t>(block.requested);
    allocated[index_of(tag)] += sign * static_cast<std::int64_t>(block.size);
  }
};

std::string check(const DeviceAllocator& a, const Reference& ref) {
  std::ostringstream why;
  const AllocatorStats s = a.stats();
  BlockStats sum;
  for (const Tag tag : kAllTags) {
    const BlockStats& t = s.of(tag);
    if (t.requested_bytes.current != ref.requested[index_of(tag)] ||
        t.allocated_bytes.current != ref.allocated[index_of(tag)]) {
      why << tag_name(tag) << ": bytes differ from the harness's count; ";
    }
    sum.requested_bytes.current += t.requested_bytes.current;
    sum.allocated_bytes.current += t.allocated_bytes.current;
    sum.active_bytes.current += t.active_bytes.current;
    sum.allocation.current += t.allocation.current;
    sum.active.current += t.active.current;
    for (const Stat* stat :
         {&t.requested_bytes, &t.allocated_bytes, &t.active_bytes, &t.allocation, &t.active}) {
      if (stat->peak < stat->current || stat->current < 0) why << "bad peak or negative; ";
    }
  }
  if (sum.requested_bytes.current != s.total.requested_bytes.current ||
      sum.allocated_bytes.current != s.total.allocated_bytes.current ||
      sum.active_bytes.current != s.total.active_bytes.current ||
      sum.allocation.current != s.total.allocation.current ||
      sum.active.current != s.total.active.current) {
    why << "per-tag sums differ from totals; ";
  }
  if (s.total.allocation.current != static_cast<std::int64_t>(ref.live.size())) {
    why << "live block count differs; ";
  }
  if (s.reserved_bytes.current != static_cast<std::int64_t>(a.backing_held())) {
    why << "reserved " << s.reserved_bytes.current << " != backing held " << a.backing_held()
        << "; ";
  }
  const CacheState cache = a.cache_state();
  if (s.reserved_bytes.current !=
      s.total.allocated_bytes.current + static_cast<std::int64_t>(cache.free_bytes)) {
    why << "reserved != allocated + cached free; ";
  }
  if (cache.inactive_split_bytes > cache.free_bytes ||
      s.inactive_split_bytes.current != static_cast<std::int64_t>(cache.inactive_split_bytes)) {
    why << "inactive split inconsistent; ";
  }
  if (static_cast<std::size_t>(s.reserved_bytes.current) > a.limit()) why << "over the limit; ";
  for (const Stat* stat : {&s.total.requested_bytes, &s.total.allocated_bytes, &s.reserved_bytes,
                           &s.segment, &s.inactive_split_bytes}) {
    if (stat->peak < stat->current || stat->current < 0) why << "bad total peak; ";
  }
  return why.str();
}

std::string compare_live_blocks(const DeviceAllocator& a, const Reference& ref) {
  std::map<std::uintptr_t, std::size_t> seen;
  for (const LiveBlock& b : a.live_blocks())
    seen.emplace(reinterpret_cast<std::uintptr_t>(b.ptr), b.size);
  return seen == ref.ranges ? "" : "live blocks differ from the harness's";
}

class Invariants : public ::testing::TestWithParam<std::string> {};

TEST_P(Invariants, HoldAfterEveryOperation) {
  AllocatorConfig config;
  config.strategy = GetParam();
  config.limit = 1536 * MiB;
  config.record = true;
  DeviceAllocator a(std::make_unique<VirtualBacking>(2 * GiB), config);
  Reference ref;
  std::mt19937_64 rng(20261128);
  std::int64_t allocs = 0, frees = 0, retags = 0, ooms = 0;

  for (int op = 0; op < kOperations; ++op) {
    const auto roll = rng() % 1000;
    const bool grow = ref.live.size() < 300 ? roll < 520 : roll < 380;
    if (ref.live.empty() || grow) {
      // Log-uniform sizes from 1 B to 64 MiB: every pool and segment rule is exercised.
      const unsigned octave = rng() % 26;
      const std::size_t size = (std::size_t{1} << octave) + rng() % (std::size_t{1} << octave);
      const Tag tag = kAllTags[rng() % kTagCount];
      try {
        const Allocation block = a.allocate(size, tag, rng() % 3);
        ASSERT_EQ(block.requested, size);
        ASSERT_GE(block.size, size);
        ASSERT_EQ(ref.add(block, tag), "") << "op " << op;
        ++allocs;
      } catch (const OutOfMemoryError&) {
        ++ooms;
      }
    } else if (roll < 950) {
      a.deallocate(ref.take(rng() % ref.live.size()).block);
      ++frees;
    } else if (roll < 997) {
      const Reference::Live moved = ref.take(rng() % ref.live.size());
      const Tag tag = kAllTags[rng() % kTagCount];
      a.retag(moved.block, tag);
      retags += tag != moved.tag;
      ASSERT_EQ(ref.add(moved.block, tag), "");
    } else {
      a.empty_cache();
    }
    ASSERT_EQ(check(a, ref), "") << "after operation " << op;
    if (op % 1000 == 0) {
      ASSERT_EQ(compare_live_blocks(a, ref), "") << "after operation " << op;
    }
  }
  EXPECT_GT(ooms, 0) << "the sequence should reach the limit sometimes";
  EXPECT_GT(allocs, kOperations / 3);

  while (!ref.live.empty()) {
    a.deallocate(ref.take(ref.live.size() - 1).block);
    ++frees;
  }
  a.empty_cache();
  const AllocatorStats s = a.stats();
  for (const Stat* stat :
       {&s.total.requested_bytes, &s.total.allocated_bytes, &s.total.active_bytes,
        &s.total.allocation, &s.total.active, &s.reserved_bytes, &s.segment,
        &s.inactive_split_bytes, &s.inactive_split}) {
    EXPECT_EQ(stat->current, 0);
  }
  for (const Tag tag : kAllTags) EXPECT_EQ(s.of(tag).allocated_bytes.current, 0);
  EXPECT_EQ(a.backing_held(), 0u);
  EXPECT_EQ(s.num_ooms, ooms);

  // The recorder saw exactly the calls that changed something.
  std::array<std::int64_t, 6> events{};
  for (const Event& e : a.trace().events) ++events[static_cast<std::size_t>(e.action)];
  EXPECT_EQ(events[static_cast<std::size_t>(Action::alloc)], allocs);
  EXPECT_EQ(events[static_cast<std::size_t>(Action::free)], frees);
  EXPECT_EQ(events[static_cast<std::size_t>(Action::retag)], retags);
  EXPECT_EQ(events[static_cast<std::size_t>(Action::oom)], ooms);
  EXPECT_EQ(events[static_cast<std::size_t>(Action::segment_alloc)], s.segment.allocated);
  EXPECT_EQ(events[static_cast<std::size_t>(Action::segment_free)], s.segment.freed);
}

INSTANTIATE_TEST_SUITE_P(EveryStrategy, Invariants, ::testing::ValuesIn(strategy_names()),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tally
