// The NCCL backend as a world of one on cuda:0 (a process no launcher started): the collectives'
// in-place offsets, dtypes and stream ordering against the values they must leave. Skips without
// a GPU, and without a loadable libnccl, saying which.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <vector>

#include "allocator/cuda_device.h"
#include "allocator/error.h"
#include "core/cuda_context.h"
#include "core/tensor.h"
#include "distributed/nccl_process_group_cuda.h"
#include "distributed/world.h"

namespace tally::dist {
namespace {

const Device kCuda0{DeviceKind::cuda, 0};

class NcclGroup : public ::testing::Test {
 protected:
  void SetUp() override {
    const CudaProbe probe = probe_cuda();
    if (probe.devices.empty()) GTEST_SKIP() << "no CUDA device: " << probe.reason;
    const std::string nccl = nccl_version_or_reason();
    if (nccl.rfind("unavailable", 0) == 0) GTEST_SKIP() << "no NCCL: " << nccl;
    if (!group) group = std::make_unique<NcclProcessGroup>(kCuda0, std::chrono::seconds(30));
  }
  static std::unique_ptr<NcclProcessGroup> group;
};
std::unique_ptr<NcclProcessGroup> NcclGroup::group;

Tensor on_cuda(const std::vector<float>& v, DType dtype) {
  return Tensor::from_values(v, {static_cast<std::int64_t>(v.size())}, dtype).to(kCuda0);
}

TEST_F(NcclGroup, IsAWorldOfOne) {
  EXPECT_EQ(group->backend(), "nccl");
  EXPECT_EQ(group->rank(), 0);
  EXPECT_EQ(group->size(), 1);
  EXPECT_GE(group->communicator_bytes(), 0);
  std::printf("nccl %s communicator on cuda:0: %lld bytes\n", nccl_version_or_reason().c_str(),
              static_cast<long long>(group->communicator_bytes()));
}

// One rank's sum and average are its own values, in every dtype, after the compute stream's copy
// that wrote them (the collective must be ordered after it).
TEST_F(NcclGroup, AllReduceSumAndAverage) {
  const std::vector<float> v{1, -2, 3.5, 4096};
  for (DType dtype : {DType::f32, DType::f16, DType::bf16}) {
    for (ReduceOp op : {ReduceOp::sum, ReduceOp::average}) {
      const Tensor t = on_cuda(v, dtype);
      group->all_reduce(t, op)->wait();
      EXPECT_EQ(t.to_floats(), v) << dtype_name(dtype);
    }
  }
}

TEST_F(NcclGroup, ReduceScatterAndAllGatherInPlace) {
  const std::vector<float> v{1, 2, 3, 4, 5, 6};
  const Tensor rs = on_cuda(v, DType::f32);
  group->reduce_scatter(rs, ReduceOp::average)->wait();
  EXPECT_EQ(rs.to_floats(), v);
  const Tensor ag = on_cuda(v, DType::bf16);
  group->all_gather(ag)->wait();
  EXPECT_EQ(ag.to_floats(), v);
}

TEST_F(NcclGroup, BlockingCallsAndErrors) {
  const Tensor t = on_cuda({7, 8}, DType::f16);
  group->broadcast(t, 0);
  group->barrier();
  EXPECT_EQ(t.to_floats(), (std::vector<float>{7, 8}));
  EXPECT_EQ(group->sum_on_host({2.5}), (std::vector<double>{2.5}));
  try {
    group->all_reduce(Tensor::from_values(std::vector<float>{1}, {1}), ReduceOp::sum);
    ADD_FAILURE() << "a cpu tensor was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage) << e.what();
  }
  try {
    group->all_reduce(on_cuda({1, 2}, DType::i32), ReduceOp::average);
    ADD_FAILURE() << "an i32 average was accepted";
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage) << e.what();
  }
}

}  // namespace
}  // namespace tally::dist
