// DDP across real ranks (run under mpirun by CTest, label mpi): N ranks with batch B/N each end
// where one process with batch B ends, for plain DDP and ZeRO-1, with one bucket or several; and
// each rank's buckets are exactly what the layout says. Every rank computes the one-process
// reference itself.
#include <gtest/gtest.h>

#include <chrono>

#include "core/device_registry.h"
#include "distributed/world.h"
#include "tests/distributed/ddp_steps.h"

namespace tally::test {
namespace {

std::shared_ptr<dist::ProcessGroup> world() {
  return dist::world_group(Device::cpu(), std::chrono::seconds(120));
}

// AdamW divides each gradient by its own magnitude, so an element whose gradient is rounding
// noise around zero (a dead ReLU's, summed in another order) moves by up to lr either way: its
// parameters agree to 1e-5, SGD's to 1e-6.
struct Case {
  const char* model;
  const char* optimizer;
  int zero;
  bool small_buckets;
  double tolerance;
};

class DdpAcrossRanks : public ::testing::TestWithParam<Case> {};

TEST_P(DdpAcrossRanks, MatchesOneProcessWithTheWholeBatch) {
  const Case c = GetParam();
  const auto group = world();
  const std::int64_t per_rank = 8;
  dist::DdpOptions ddp;
  ddp.zero_stage = c.zero;
  if (c.small_buckets) {
    ddp.first_bucket_cap_bytes = 4096;
    ddp.bucket_cap_bytes = 65536;
  }
  const int steps = 3;
  const DdpSteps reference = run_ddp_steps(
      ddp_train_options(c.model, c.optimizer, per_rank * group->size(), Device::cpu()), steps);
  const DdpSteps ranks = run_ddp_steps(
      ddp_train_options(c.model, c.optimizer, per_rank, Device::cpu()), steps, group, ddp);
  ASSERT_EQ(ranks.parameters.size(), reference.parameters.size());
  EXPECT_LT(max_relative_difference(ranks.parameters, reference.parameters), c.tolerance)
      << "rank " << group->rank() << " of " << group->size();
  // The ranks' losses average to the whole batch's.
  const double mean = group->sum_on_host({ranks.losses.front()})[0] / group->size();
  EXPECT_NEAR(mean, reference.losses.front(), 1e-6 * std::abs(reference.losses.front()));
}

INSTANTIATE_TEST_SUITE_P(
    Models, DdpAcrossRanks,
    ::testing::Values(Case{"mlp", "sgd", 0, false, 1e-6}, Case{"mlp", "sgd", 1, false, 1e-6},
                      Case{"cnn", "sgd", 0, true, 1e-6}, Case{"cnn", "sgd", 1, true, 1e-6},
                      Case{"mlp", "adamw", 0, false, 1e-5}, Case{"cnn", "adamw", 1, true, 1e-5}),
    [](const auto& info) {
      return std::string(info.param.model) + "_" + info.param.optimizer + "_zero" +
             std::to_string(info.param.zero) + (info.param.small_buckets ? "_small" : "");
    });

TEST(DdpAcrossRanks, CommunicationBytesAreTheBuckets) {
  const auto group = world();
  AllocatorConfig config;
  config.record = true;
  const auto allocator = configure_device(Device::cpu(), config);
  dist::DdpOptions ddp;
  ddp.first_bucket_cap_bytes = 4096;
  ddp.bucket_cap_bytes = 65536;
  ddp.zero_stage = 1;
  nn::Learner learner;
  run_ddp_steps(ddp_train_options("cnn", "sgd", 8, Device::cpu()), 1, group, ddp, &learner);
  const auto& buckets = dynamic_cast<dist::DistributedDataParallel&>(*learner.parallel).buckets();
  std::int64_t bytes = 0;
  for (const auto& b : buckets) bytes += b.bytes();
  EXPECT_EQ(buckets.size(), 4u);
  EXPECT_EQ(allocator->stats().of(Tag::communication).requested_bytes.current, bytes);
  EXPECT_EQ(allocator->stats().of(Tag::communication).allocation.current, 4);
}

}  // namespace
}  // namespace tally::test
