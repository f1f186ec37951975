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

TEST(PeakAnalysis, AnEmptyTraceHasNoPeak) {
  EXPECT_FALSE(find_peak(Trace{}).found);
}

}  // namespace
}  // namespace tally
