#include <gtest/gtest.h>

#include <vector>

#include "allocator/error.h"
#include "core/tensor.h"
#include "distributed/process_group.h"
#include "distributed/world.h"
#include "tally/build_config.h"
#include "tests/distributed/expect_usage_error.h"

namespace tally::dist {
namespace {

Tensor cpu_values(std::vector<float> values) {
  return Tensor::from_values(values, {static_cast<std::int64_t>(values.size())});
}

TEST(LocalProcessGroup, WorldOfOneLeavesEveryTensorAsItWas) {
  LocalProcessGroup group(Device::cpu());
  EXPECT_EQ(group.backend(), "local");
  EXPECT_EQ(group.size(), 1);
  const Tensor t = cpu_values({1, 2, 3, 4});
  group.all_reduce(t, ReduceOp::average)->wait();
  group.reduce_scatter(t, ReduceOp::sum)->wait();
  group.all_gather(t)->wait();
  group.broadcast(t, 0);
  group.barrier();
  EXPECT_EQ(t.to_floats(), (std::vector<float>{1, 2, 3, 4}));
  EXPECT_EQ(group.sum_on_host({1.5, -2}), (std::vector<double>{1.5, -2}));
}

TEST(LocalProcessGroup, SimRankCountsEveryRankInHostSums) {
  LocalProcessGroup group(Device::sim(SimTarget::cuda), 1, 4);
  EXPECT_EQ(group.rank(), 1);
  EXPECT_EQ(group.size(), 4);
  EXPECT_EQ(group.sum_on_host({0.5, 3}), (std::vector<double>{2, 12}));
  const Tensor buffer = Tensor::empty({8}, DType::f32, Device::sim(SimTarget::cuda));
  group.reduce_scatter(buffer, ReduceOp::sum)->wait();
  group.all_gather(buffer)->wait();
}

TEST(LocalProcessGroup, RejectsWhatNoBackendAccepts) {
  expect_usage_error([] { LocalProcessGroup(Device::cpu(), 0, 2); });
  expect_usage_error([] { LocalProcessGroup(Device::sim(SimTarget::cpu), 4, 4); });
  LocalProcessGroup sim(Device::sim(SimTarget::cpu), 0, 4);
  const Tensor odd = Tensor::empty({6}, DType::f32, Device::sim(SimTarget::cpu));
  expect_usage_error([&] { sim.reduce_scatter(odd, ReduceOp::sum); });
  expect_usage_error([&] { sim.all_gather(odd); });
  expect_usage_error([&] { sim.broadcast(odd, 4); });
  LocalProcessGroup cpu(Device::cpu());
  const Tensor matrix = Tensor::from_values(std::vector<float>{1, 2, 3, 4, 5, 6}, {2, 3});
  expect_usage_error([&] { cpu.all_reduce(matrix.transpose(0, 1), ReduceOp::sum); });
  expect_usage_error([&] { cpu.all_reduce(odd, ReduceOp::sum); });
  expect_usage_error([&] { cpu.all_reduce(Tensor(), ReduceOp::sum); });
}

TEST(World, BackendsAreTheBuildsOwn) {
  EXPECT_EQ(has_mpi(), build::kWithMpi);
  EXPECT_EQ(has_nccl(), build::kWithNccl);
  EXPECT_EQ(mpi_version().empty(), !build::kWithMpi);
  EXPECT_EQ(nccl_version_or_reason().empty(), !build::kWithNccl);
}

// ctest starts this executable without a launcher: a world of one, whatever the build has.
TEST(World, WithoutALauncherTheCpuWorldIsLocal) {
  ASSERT_FALSE(launched_world().has_value()) << "run without mpirun";
  const auto group = world_group(Device::cpu(), std::chrono::seconds(5));
  EXPECT_EQ(group->backend(), "local");
  EXPECT_EQ(group->size(), 1);
  EXPECT_EQ(world_group(Device::cpu(), std::chrono::seconds(1)), group);
  abort_world(3);  // a world of one: returns
}

TEST(World, SimHasNoWorldAndCudaNeedsNccl) {
  expect_usage_error([] { world_group(Device::sim(SimTarget::cuda), std::chrono::seconds(1)); });
  if (!build::kWithNccl) {
    expect_usage_error([] { world_group(Device::parse("cuda:0"), std::chrono::seconds(1)); });
  }
}

}  // namespace
}  // namespace tally::dist
