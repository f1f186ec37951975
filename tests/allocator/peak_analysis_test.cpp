// find_peak() on traces recorded from a real allocator, with the expected figures worked out by
// hand from the caching rules (512-byte rounding, 2 MiB small segments).
#include "allocator/peak_analysis.h"

#include <gtest/gtest.h>

#include "allocator/device_allocator.h"
#include "allocator/scope.h"
#include "allocator/units.h"
#include "allocator/virtual_backing.h"

namespace tally {
namespace {

TEST(PeakAnalysis, ReconstructsTagsAndScopesAtTheMomentOfPeak) {
  AllocatorConfig config;
  config.record = true;
  DeviceAllocator allocator(std::make_unique<VirtualBacking>(1 * GiB), config);
  Allocation weights, grads, act, temp;
  {
    MemoryScope scope("layers.0");
    weights = allocator.allocate(1000, Tag::parameter);  // 1024 allocated
  }
  {
    PhaseGuard forward(Phase::forward);
    MemoryScope scope("layers.1");
    act = allocator.allocate(3000, Tag::temporary);  // 3072
    allocator.retag(act, Tag::activation);
    temp = allocator.allocate(600, Tag::temporary);  // 1024: peak of 5120 allocated here
  }
  allocator.deallocate(temp);
  {
    PhaseGuard backward(Phase::backward);
    MemoryScope scope("layers.0");
    allocator.deallocate(act);
    grads = allocator.allocate(1000, Tag::gradient);  // back to 2048
  }
  const PeakSnapshot peak = find_peak(allocator.trace());
  ASSERT_TRUE(peak.found);
  EXPECT_EQ(peak.allocated, 1024 + 3072 + 1024);
  EXPECT_EQ(peak.requested, 1000 + 3000 + 600);
  EXPECT_EQ(peak.reserved, static_cast<std::int64_t>(2 * MiB));
  EXPECT_EQ(peak.peak_reserved, static_cast<std::int64_t>(2 * MiB));
  EXPECT_EQ(peak.phase, Phase::forward);
  EXPECT_EQ(peak.scope, "layers.1");
  EXPECT_EQ(peak.by_tag[index_of(Tag::parameter)].allocated, 1024);
  EXPECT_EQ(peak.by_tag[index_of(Tag::activation)].allocated, 3072);
  EXPECT_EQ(peak.by_tag[index_of(Tag::activation)].requested, 3000);
  EXPECT_EQ(peak.by_tag[index_of(Tag::temporary)].allocated, 1024);
  EXPECT_EQ(peak.by_tag[index_of(Tag::gradient)].allocated, 0);
  ASSERT_EQ(peak.by_scope.size(), 2u);
  EXPECT_EQ(peak.by_scope[0], (std::pair<std::string, std::int64_t>{"layers.1", 4096}));
  EXPECT_EQ(peak.by_scope[1], (std::pair<std::string, std::int64_t>{"layers.0", 1024}));
  allocator.deallocate(weights);
  allocator.deallocate(grads);
}

// A training run in miniature: a step whose activation takes a large segment, then an
// evaluation that needs one more, larger than any cached. Figures from the caching rules: the
// small pool's 2 MiB segment holds the 512-byte blocks, a 5 MiB request takes a 20 MiB segment,
// and a 25 MiB one a segment of its own rounded to 2 MiB, 26 MiB, whose 1 MiB rest is too small
// to split off: the block is the whole segment.
TEST(PeakAnalysis, ARunsTrainingAndEvaluationEachHaveTheirOwnPeaks) {
  AllocatorConfig config;
  config.record = true;
  DeviceAllocator allocator(std::make_unique<VirtualBacking>(1 * GiB), config);
  const Allocation weights = allocator.allocate(1000, Tag::parameter);  // 1024 B, 2 MiB segment
  {
    PhaseGuard forward(Phase::forward);
    MemoryScope scope("layers.0");
    const Allocation act = allocator.allocate(5 * MiB, Tag::activation);  // 20 MiB segment
    const Allocation temp = allocator.allocate(100, Tag::temporary);      // 512 B
    allocator.deallocate(temp);
    allocator.deallocate(act);
  }
  {
    PhaseGuard eval(Phase::eval);
    MemoryScope scope("layers.1");
    const Allocation logits = allocator.allocate(25 * MiB, Tag::temporary);
    allocator.deallocate(logits);
  }
  allocator.deallocate(weights);
  allocator.empty_cache();
  const Trace trace = allocator.trace();
  std::uint64_t evaluation_starts = 0;
  for (const Event& e : trace.events) {
    if (e.phase == Phase::eval) {
      evaluation_starts = e.seq;
      break;
    }
  }

  const RunPeaks peaks = find_run_peaks(trace);
  ASSERT_TRUE(peaks.training.found);
  EXPECT_EQ(peaks.training.allocated, 1024 + 5 * MiB + 512);
  EXPECT_EQ(peaks.training.peak_requested, 1000 + 5 * MiB + 100);
  EXPECT_EQ(peaks.training.peak_reserved, static_cast<std::int64_t>(22 * MiB));
  EXPECT_EQ(peaks.training.phase, Phase::forward);
  ASSERT_TRUE(peaks.evaluation.found);
  EXPECT_GE(peaks.evaluation.seq, evaluation_starts);
  EXPECT_EQ(peaks.evaluation.allocated, 1024 + 26 * MiB);
  EXPECT_EQ(peaks.evaluation.peak_requested, 1000 + 25 * MiB);
  // What training left cached is still reserved while evaluation runs.
  EXPECT_EQ(peaks.evaluation.peak_reserved, static_cast<std::int64_t>(22 * MiB + 26 * MiB));
  EXPECT_EQ(peaks.evaluation.phase, Phase::eval);
  EXPECT_EQ(peaks.evaluation.scope, "layers.1");

  // The whole trace peaks in evaluation; a range of events before it gives training's figures.
  EXPECT_EQ(find_peak(trace).peak_reserved, peaks.evaluation.peak_reserved);
  const PeakSnapshot before = find_peak(trace, 0, {0, evaluation_starts});
  EXPECT_EQ(before.allocated, peaks.training.allocated);
  EXPECT_EQ(before.peak_reserved, peaks.training.peak_reserved);
}

TEST(PeakAnalysis, ARunWithoutEvaluationIsAllTraining) {
  AllocatorConfig config;
  config.record = true;
  DeviceAllocator allocator(std::make_unique<VirtualBacking>(1 * GiB), config);
  allocator.deallocate(allocator.allocate(3000, Tag::temporary));
  const RunPeaks peaks = find_run_peaks(allocator.trace());
  EXPECT_EQ(peaks.training.allocated, 3072);
  EXPECT_EQ(peaks.training.peak_requested, 3000);
  EXPECT_FALSE(peaks.evaluation.found);
  EXPECT_EQ(peaks.evaluation.peak_reserved, 0);
}

TEST(PeakAnalysis, AnEmptyTraceHasNoPeak) {
  EXPECT_FALSE(find_peak(Trace{}).found);
}

}  // namespace
}  // namespace tally
