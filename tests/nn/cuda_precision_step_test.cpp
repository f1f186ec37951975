// One SGD step (lr 0.1, momentum 0.9) of mlp and cnn on cuda against the same step on cpu, whose
// kernels are the oracle, in each 16-bit arrangement (fp32's is cuda_step_test's): the loss and
// every parameter after the step. Skips, saying why, without a CUDA device.
//
// Tolerance, with u the 16-bit unit roundoff (2^-11 for f16, 2^-8 for bf16): cuBLAS and cuDNN
// accumulate in f32 in another order than the CPU, so a 16-bit output may round to its neighbour,
// a relative difference of u per layer. The logits, after at most four layers, differ by 4u of
// their size, which at initialisation is under 2; cross-entropy moves by at most twice the largest
// change of a logit, so the losses agree within 16u max(1, |loss|). A parameter moves by lr g
// (one step from a zero momentum buffer), and g, a sum of products rounded as the forward's were
// and again in the backward's 16-bit outputs, differs by a few u of the largest gradient: the
// updates agree within 8u of the largest update on the cpu;
// fp16 and bf16 then round the f32 master to 16 bits, which may land on the neighbour, u |p| more
// (amp-* keeps f32 parameters: f32's 2^-24 |p|). A kernel that dropped the loss scale, skipped the
// step on one device only or read a gradient as another type would be off by whole updates.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <string>

#include "allocator/cuda_device.h"
#include "ops/cuda_libraries.h"
#include "step_trace.h"

namespace tally {
namespace {

using Case = test::PrecisionCase;

class CudaPrecisionStep : public ::testing::TestWithParam<Case> {
 protected:
  void SetUp() override {
    const CudaProbe probe = probe_cuda();
    if (probe.devices.empty()) GTEST_SKIP() << "no CUDA device: " << probe.reason;
  }
  void TearDown() override { ops::set_cudnn_exact_algorithms(false); }
};

test::StepsResult one_step(const Case& c, Device device) {
  configure_device(device, {});
  return test::run_steps(c.model, "sgd", device, 1, 32, c.precision);
}

TEST_P(CudaPrecisionStep, MatchesTheCpuStepWithinSixteenBitRounding) {
  const Case& c = GetParam();
  ops::set_cudnn_exact_algorithms(true);
  const test::StepsResult cpu = one_step(c, Device::cpu());
  const test::StepsResult cuda = one_step(c, Device{DeviceKind::cuda, 0});
  const double u =
      nn::compute_dtype(c.precision) == DType::f16 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8);
  const float loss = cpu.losses[0];
  EXPECT_NEAR(cuda.losses[0], loss, 16 * u * std::max(1.0f, std::fabs(loss)));

  double largest_update = 0;
  for (std::size_t p = 0; p < cpu.parameters.size(); ++p) {
    for (std::size_t i = 0; i < cpu.parameters[p].size(); ++i) {
      largest_update =
          std::max(largest_update, double(std::fabs(cpu.parameters[p][i] - cpu.initial[p][i])));
    }
  }
  const double bound = 8 * u * largest_update;
  const double stored = nn::keeps_master_weights(c.precision) ? u : std::ldexp(1.0, -24);
  ASSERT_EQ(cuda.parameters.size(), cpu.parameters.size());
  for (std::size_t p = 0; p < cpu.parameters.size(); ++p) {
    ASSERT_EQ(cuda.parameters[p].size(), cpu.parameters[p].size()) << "parameter " << p;
    for (std::size_t i = 0; i < cpu.parameters[p].size(); ++i) {
      ASSERT_NEAR(cuda.parameters[p][i], cpu.parameters[p][i],
                  bound + stored * std::fabs(cpu.parameters[p][i]))
          << "parameter " << p << " element " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Arrangements, CudaPrecisionStep,
                         ::testing::ValuesIn(test::precision_cases(false)),
                         test::precision_case_name);

}  // namespace
}  // namespace tally
