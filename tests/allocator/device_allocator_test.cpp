// DeviceAllocator behaviour shared by every strategy: tags, retags, peaks, misuse, threads.
#include "allocator/device_allocator.h"

#include <gtest/gtest.h>

#include <thread>
#include <vector>

#include "allocator/error.h"
#include "allocator/host_backing.h"
#include "tests/allocator/figures.h"

namespace tally {
namespace {

using test::virtual_allocator;

TEST(DeviceAllocator, ZeroBytesTakeNoMemory) {
  auto a = virtual_allocator("caching");
  const Allocation empty = a->allocate(0, Tag::temporary);
  EXPECT_FALSE(empty);
  a->deallocate(empty);
  a->retag(empty, Tag::activation);
  EXPECT_EQ(a->stats().total.allocation.allocated, 0);
  EXPECT_EQ(a->stats().reserved_bytes.current, 0);
}

TEST(DeviceAllocator, RetagMovesBytesBetweenTags) {
  auto a = virtual_allocator("caching");
  const Allocation out = a->allocate(1000, Tag::temporary);
  a->retag(out, Tag::activation);
  const AllocatorStats s = a->stats();
  EXPECT_EQ(s.of(Tag::temporary).requested_bytes.current, 0);
  EXPECT_EQ(s.of(Tag::temporary).allocated_bytes.peak, 1024);
  EXPECT_EQ(s.of(Tag::activation).requested_bytes.current, 1000);
  EXPECT_EQ(s.of(Tag::activation).allocated_bytes.current, 1024);
  EXPECT_EQ(s.of(Tag::activation).allocation.current, 1);
  EXPECT_EQ(s.total.allocated_bytes.current, 1024);
  EXPECT_EQ(s.total.allocation.allocated, 1);
  EXPECT_EQ(s.num_retags, 1);
  a->deallocate(out);
  EXPECT_EQ(a->stats().of(Tag::activation).allocated_bytes.current, 0);
  EXPECT_EQ(a->stats().of(Tag::activation).allocated_bytes.freed, 1024);
}

TEST(DeviceAllocator, ResetPeakBringsPeaksDownToCurrent) {
  auto a = virtual_allocator("caching");
  const Allocation keep = a->allocate(4096, Tag::parameter);
  a->deallocate(a->allocate(1 * MiB, Tag::temporary));
  EXPECT_EQ(a->stats().total.allocated_bytes.peak, static_cast<std::int64_t>(4096 + 1 * MiB));
  a->reset_peak();
  const AllocatorStats s = a->stats();
  EXPECT_EQ(s.total.allocated_bytes.peak, 4096);
  EXPECT_EQ(s.of(Tag::temporary).allocated_bytes.peak, 0);
  EXPECT_EQ(s.reserved_bytes.peak, s.reserved_bytes.current);
  a->deallocate(keep);
}

TEST(DeviceAllocator, RejectsDoubleFreeAndForeignBlocks) {
  auto a = virtual_allocator("caching");
  auto b = virtual_allocator("caching");
  const Allocation block = a->allocate(64, Tag::other);
  a->deallocate(block);
  EXPECT_THROW(a->deallocate(block), Error);
  EXPECT_THROW(a->retag(block, Tag::gradient), Error);
  const Allocation other = b->allocate(64, Tag::other);
  EXPECT_THROW(a->deallocate(other), Error);
  b->deallocate(other);
  EXPECT_EQ(a->stats().total.allocation.current, 0);
}

TEST(DeviceAllocator, StaleCopyOfAFreedBlockCannotFreeItsSuccessor) {
  auto a = virtual_allocator("caching");
  const Allocation first = a->allocate(4096, Tag::temporary);
  a->deallocate(first);
  const Allocation second = a->allocate(4096, Tag::temporary);
  ASSERT_EQ(second.ptr, first.ptr);  // same address, same record slot
  ASSERT_EQ(second.id, first.id);
  EXPECT_THROW(a->deallocate(first), Error);
  EXPECT_EQ(a->stats().total.allocation.current, 1);
  a->deallocate(second);
}

TEST(DeviceAllocator, FreeIsRecordedBeforeTheSegmentItReleases) {
  AllocatorConfig config;
  config.strategy = "direct";
  config.record = true;
  DeviceAllocator a(std::make_unique<VirtualBacking>(1 * GiB), config);
  a.deallocate(a.allocate(1000, Tag::other));
  const Trace trace = a.trace();
  ASSERT_EQ(trace.events.size(), 4u);
  EXPECT_EQ(trace.events[0].action, Action::segment_alloc);
  EXPECT_EQ(trace.events[1].action, Action::alloc);
  EXPECT_EQ(trace.events[2].action, Action::free);
  EXPECT_EQ(trace.events[3].action, Action::segment_free);
}

TEST(DeviceAllocator, LimitAboveCapacityIsTheCapacity) {
  AllocatorConfig config;
  config.limit = 1 * GiB;
  DeviceAllocator below(std::make_unique<VirtualBacking>(4 * GiB), config);
  EXPECT_EQ(below.limit(), 1 * GiB);
  DeviceAllocator above(std::make_unique<VirtualBacking>(512 * MiB), config);
  EXPECT_EQ(above.limit(), 512 * MiB);
}

TEST(DeviceAllocator, HostBackingGivesWritableAlignedMemory) {
  DeviceAllocator a(std::make_unique<HostBacking>());
  const Allocation block = a.allocate(3000, Tag::parameter);
  ASSERT_TRUE(block);
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(block.ptr) % 512, 0u);
  auto* bytes = static_cast<unsigned char*>(block.ptr);
  for (std::size_t i = 0; i < block.size; ++i) bytes[i] = static_cast<unsigned char>(i);
  EXPECT_EQ(bytes[2999], static_cast<unsigned char>(2999));
  EXPECT_EQ(a.backing_held(), 2 * MiB);
  a.deallocate(block);
}

// Reports what it holds to a counter that outlives it.
class SpyBacking final : public Backing {
 public:
  explicit SpyBacking(std::int64_t& outstanding) : outstanding_(outstanding) {}
  std::size_t capacity() const override { return 1 * GiB; }
  std::string_view kind() const override { return "spy"; }
  std::string device() const override { return "spy"; }

 private:
  void* do_allocate(std::size_t bytes) override {
    outstanding_ += static_cast<std::int64_t>(bytes);
    return inner_.allocate(bytes);
  }
  void do_deallocate(void* base, std::size_t bytes) override {
    outstanding_ -= static_cast<std::int64_t>(bytes);
    inner_.deallocate(base, bytes);
  }
  std::int64_t& outstanding_;
  VirtualBacking inner_{1 * GiB};
};

TEST(DeviceAllocator, DestructionReturnsLiveBlocksAndSegments) {
  std::int64_t outstanding = 0;
  {
    DeviceAllocator a(std::make_unique<SpyBacking>(outstanding));
    a.allocate(100, Tag::other);
    a.allocate(5 * MiB, Tag::other);
    a.deallocate(a.allocate(16 * MiB, Tag::other));  // cached: larger than the 15 MiB left
    EXPECT_EQ(outstanding, static_cast<std::int64_t>(2 * MiB + 20 * MiB + 16 * MiB));
  }
  EXPECT_EQ(outstanding, 0);
}

TEST(DeviceAllocator, ConcurrentCallersKeepExactCounts) {
  auto a = virtual_allocator("caching");
  constexpr int kThreads = 4;
  constexpr int kRounds = 2000;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&a, t] {
      std::vector<Allocation> held;
      for (int i = 0; i < kRounds; ++i) {
        held.push_back(a->allocate(512 * (1 + (i + t) % 7), Tag::temporary));
        if (i % 3 == 2) {
          a->retag(held.back(), Tag::activation);
          a->deallocate(held.front());
          held.erase(held.begin());
        }
      }
      for (const auto& h : held) a->deallocate(h);
    });
  }
  for (auto& t : threads) t.join();
  const AllocatorStats s = a->stats();
  EXPECT_EQ(s.total.allocation.allocated, kThreads * kRounds);
  EXPECT_EQ(s.total.allocation.current, 0);
  EXPECT_EQ(s.total.allocated_bytes.current, 0);
  EXPECT_EQ(s.num_retags, kThreads * (kRounds / 3));
  EXPECT_EQ(static_cast<std::size_t>(s.reserved_bytes.current), a->backing_held());
}

}  // namespace
}  // namespace tally
