// The recorder: one event per action, with the caller's scope and phase and its call's time.
#include "allocator/recorder.h"

#include <gtest/gtest.h>

#include "tests/allocator/figures.h"

namespace tally {
namespace {

TEST(Recorder, RecordsOneEventPerCallWithScopeAndPhase) {
  AllocatorConfig config;
  config.record = true;
  DeviceAllocator a(std::make_unique<VirtualBacking>(1 * GiB), config);
  Allocation w, x;
  {
    MemoryScope scope("encoder");
    MemoryScope inner("0");
    PhaseGuard phase(Phase::forward);
    w = a.allocate(1000, Tag::parameter);
    x = a.allocate(3 * MiB, Tag::temporary, /*stream=*/7);
    a.retag(x, Tag::activation);
  }
  {
    PhaseGuard phase(Phase::backward);
    a.deallocate(x);
  }
  a.deallocate(w);
  a.empty_cache();

  const Trace trace = a.trace();
  ASSERT_EQ(trace.devices, std::vector<std::string>{"sim"});
  const std::vector<Action> expected{
      Action::segment_alloc, Action::alloc,        Action::segment_alloc,
      Action::alloc,         Action::retag,        Action::free,
      Action::free,          Action::segment_free, Action::segment_free};
  ASSERT_EQ(trace.events.size(), expected.size());
  for (std::size_t i = 0; i < expected.size(); ++i) {
    EXPECT_EQ(trace.events[i].action, expected[i]) << i;
    EXPECT_EQ(trace.events[i].seq, i);
    if (i > 0) {
      EXPECT_GE(trace.events[i].time_ns, trace.events[i - 1].time_ns);
    }
  }
  // One allocator call, one clock read: a segment and the block carved from it, or the
  // segments one empty_cache returns, share a time.
  EXPECT_EQ(trace.events[0].time_ns, trace.events[1].time_ns);
  EXPECT_EQ(trace.events[2].time_ns, trace.events[3].time_ns);
  EXPECT_EQ(trace.events[7].time_ns, trace.events[8].time_ns);
  const Event& alloc = trace.events[3];
  EXPECT_EQ(alloc.requested, 3 * MiB);
  EXPECT_EQ(alloc.allocated, 3 * MiB);
  EXPECT_EQ(alloc.stream, 7u);
  EXPECT_EQ(alloc.tag, Tag::temporary);
  EXPECT_EQ(scope_name(alloc.scope), "encoder.0");
  EXPECT_EQ(alloc.phase, Phase::forward);
  EXPECT_EQ(trace.events[2].requested, 20 * MiB);  // the segment made for it
  EXPECT_FALSE(trace.events[2].tag.has_value());
  const Event& retag = trace.events[4];
  EXPECT_EQ(retag.tag, Tag::activation);
  EXPECT_EQ(retag.prev_tag, Tag::temporary);
  EXPECT_EQ(trace.events[5].phase, Phase::backward);
  EXPECT_EQ(trace.events[5].tag, Tag::activation);
  EXPECT_EQ(trace.events[6].scope, 0u);
}

TEST(Recorder, CanBeSwitchedOnAndOffAtRunTime) {
  DeviceAllocator a(std::make_unique<VirtualBacking>(1 * GiB));
  EXPECT_FALSE(a.recording());
  a.deallocate(a.allocate(64, Tag::other));
  EXPECT_TRUE(a.trace().events.empty());
  a.set_recording(true);
  a.deallocate(a.allocate(64, Tag::other));
  a.set_recording(false);
  a.deallocate(a.allocate(64, Tag::other));
  const Trace trace = a.trace();
  ASSERT_EQ(trace.events.size(), 2u);
  EXPECT_EQ(trace.events[0].action, Action::alloc);
  EXPECT_EQ(trace.events[1].action, Action::free);
  a.clear_trace();
  EXPECT_TRUE(a.trace().events.empty());
}

void wait_ms(int ms) {
  const auto start = std::chrono::steady_clock::now();
  while (std::chrono::steady_clock::now() - start < std::chrono::milliseconds(ms)) {
  }
}

TEST(Recorder, EveryAllocatorCallReadsTheClock) {
  AllocatorConfig config;
  config.record = true;
  DeviceAllocator a(std::make_unique<VirtualBacking>(1 * GiB), config);
  wait_ms(2);
  const Allocation x = a.allocate(3 * MiB, Tag::temporary);
  wait_ms(2);
  a.retag(x, Tag::activation);
  wait_ms(2);
  a.deallocate(x);
  wait_ms(2);
  a.empty_cache();
  const Trace trace = a.trace();
  const std::vector<Action> expected{Action::segment_alloc, Action::alloc, Action::retag,
                                     Action::free, Action::segment_free};
  ASSERT_EQ(trace.events.size(), expected.size());
  EXPECT_GT(trace.events[0].time_ns, 1'900'000u);
  for (std::size_t i = 2; i < expected.size(); ++i) {
    EXPECT_EQ(trace.events[i].action, expected[i]);
    EXPECT_GT(trace.events[i].time_ns - trace.events[i - 1].time_ns, 1'900'000u) << i;
  }
}

TEST(Recorder, TimesAreNanosecondsOfRealElapsedTime) {
  Recorder recorder("cpu", true);
  recorder.begin_call();
  recorder.record(Action::alloc, 1, 1, 512, 0, Tag::other);
  wait_ms(20);
  recorder.record(Action::retag, 1, 1, 512, 0, Tag::activation, Tag::other);
  recorder.begin_call();
  recorder.record(Action::free, 1, 1, 512, 0, Tag::activation);
  const Trace trace = recorder.trace();
  EXPECT_EQ(trace.events[1].time_ns, trace.events[0].time_ns);  // the same call
  const std::uint64_t elapsed = trace.events[2].time_ns - trace.events[0].time_ns;
  EXPECT_GT(elapsed, 19'000'000u);
  EXPECT_LT(elapsed, 200'000'000u);
}

}  // namespace
}  // namespace tally
