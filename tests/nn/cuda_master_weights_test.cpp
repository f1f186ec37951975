// Two master-weight steps on cuda against the same steps on cpu, whose kernels are the oracle:
// f16 through a GradScaler (the check-only unscale, the scale applied by the update) and bf16
// without one, with SGD (momentum) and AdamW; the f32 masters and the 16-bit parameters written
// back from them. Skips, saying why, without a CUDA device.
//
// Tolerance: cuBLAS accumulates in f32 in another order than the CPU, so a 16-bit activation or
// gradient may round to its neighbour, a relative difference of u = 2^-11 (f16) or 2^-8 (bf16).
// Over two steps that moves a master by at most a few u of a step, and a step is at most
// lr * max(1, |g|): masters agree within 4 lr u max(1, max|g|); the parameters, each a master
// rounded to 16 bits, within that and u |p| more. A kernel that read the gradient as another type,
// dropped the scale or skipped the write-back would be off by whole steps, 1 / (4u) times more.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "allocator/cuda_device.h"
#include "autograd/engine.h"
#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "autograd/variable.h"
#include "core/generator.h"
#include "nn/grad_scaler.h"
#include "nn/layers.h"
#include "nn/optimizer.h"
#include "ops/factory.h"

namespace tally::nn {
namespace {

constexpr float kLr = 0.1f;

struct MasterRun {
  std::vector<std::vector<float>> parameters, masters;
  double largest_gradient = 0;  // unscaled, over both steps
};

MasterRun master_steps(Device device, DType dtype, bool adamw) {
  manual_seed(21);
  Sequential model;
  model.add("fc0", std::make_shared<Linear>(16, 32, true, device));
  model.add("act", std::make_shared<ReLU>());
  model.add("fc1", std::make_shared<Linear>(32, 4, true, device));
  const NamedParameters masters = model.convert_parameters(dtype);
  std::unique_ptr<Optimizer> optimizer;
  if (adamw) {
    ops::AdamWOptions options;
    options.lr = kLr;
    optimizer = std::make_unique<AdamW>(model.named_parameters(), options, masters);
  } else {
    ops::SgdOptions options;
    options.lr = kLr;
    options.momentum = 0.9f;
    optimizer = std::make_unique<SGD>(model.named_parameters(), options, masters);
  }
  GradScalerOptions scaler_options;
  scaler_options.init_scale = 1024.0f;
  GradScaler scaler(scaler_options);
  const float scale = dtype == DType::f16 ? scaler.get_scale() : 1.0f;
  MasterRun run;
  for (int step = 0; step < 2; ++step) {
    const Tensor x = cast(ops::randn({8, 16}).to(device), dtype);
    const Tensor labels =
        Tensor::from_values(std::vector<float>{0, 1, 2, 3, 3, 2, 1, 0}, {8}, DType::i64).to(device);
    optimizer->zero_grad();
    const Tensor loss = cross_entropy(cast(model.forward(x), DType::f32), labels);
    backward(dtype == DType::f16 ? scaler.scale(loss) : loss);
    for (const Tensor& g : optimizer->gradients()) {
      for (const float v : g.to_floats()) {
        run.largest_gradient = std::max(run.largest_gradient, double(std::abs(v / scale)));
      }
    }
    if (dtype == DType::f16) {
      EXPECT_TRUE(scaler.step(*optimizer));
      scaler.update();
    } else {
      optimizer->step();
    }
  }
  for (const auto& [name, p] : model.named_parameters()) run.parameters.push_back(p.to_floats());
  for (const auto& [name, m] : masters) run.masters.push_back(m.to_floats());
  return run;
}

class CudaMasterWeights : public ::testing::TestWithParam<std::pair<DType, bool>> {
 protected:
  void SetUp() override {
    const CudaProbe probe = probe_cuda();
    if (probe.devices.empty()) GTEST_SKIP() << "no CUDA device: " << probe.reason;
  }
};

TEST_P(CudaMasterWeights, TwoStepsMatchTheCpuSteps) {
  const auto [dtype, adamw] = GetParam();
  const MasterRun cpu = master_steps(Device::cpu(), dtype, adamw);
  const MasterRun cuda = master_steps(Device{DeviceKind::cuda, 0}, dtype, adamw);
  const double u = dtype == DType::f16 ? std::ldexp(1.0, -11) : std::ldexp(1.0, -8);
  const double bound = 4 * kLr * u * std::max(1.0, cpu.largest_gradient);
  ASSERT_EQ(cuda.masters.size(), cpu.masters.size());
  for (std::size_t p = 0; p < cpu.masters.size(); ++p) {
    for (std::size_t i = 0; i < cpu.masters[p].size(); ++i) {
      ASSERT_NEAR(cuda.masters[p][i], cpu.masters[p][i], bound) << "master " << p << ", " << i;
      ASSERT_NEAR(cuda.parameters[p][i], cpu.parameters[p][i],
                  bound + u * std::abs(cpu.parameters[p][i]))
          << "parameter " << p << ", " << i;
    }
  }
}

INSTANTIATE_TEST_SUITE_P(
    Arrangements, CudaMasterWeights,
    ::testing::Values(std::pair{DType::f16, false}, std::pair{DType::f16, true},
                      std::pair{DType::bf16, false}, std::pair{DType::bf16, true}),
    [](const auto& info) {
      return std::string(dtype_name(info.param.first)) + (info.param.second ? "_adamw" : "_sgd");
    });

}  // namespace
}  // namespace tally::nn
