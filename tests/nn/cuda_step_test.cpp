// One training step on cuda against the same step on cpu: the loss and every gradient agree
// within f32 tolerance, and so do the updated parameters after SGD; and the allocator sees the
// same sequence of block events (action, requested bytes, tag) on both devices, workspace events
// aside (cuBLAS and cuDNN take workspaces the CPU kernels do not). Parameters after AdamW are not
// compared: its update divides by sqrt(v) + eps, so for a gradient near eps a difference of 1e-9
// in it moves the parameter by up to lr / 4 = 2.5e-5, and such a comparison would test the
// conditioning of AdamW, not the kernels. The values are compared with cuDNN kept to exact
// algorithms (set_cudnn_exact_algorithms): FFT and Winograd may stray past f32 tolerance.
// And sim:cuda, given this GPU's architecture and the cuDNN choices the cuda step logged (with
// training's default choice), predicts the cuda step's trace exactly, workspaces included.
// Skips, saying why, without a CUDA device.
#include <gtest/gtest.h>

#include <cmath>

#include "allocator/cuda_device.h"
#include "ops/cuda_libraries.h"
#include "ops/sim_libraries.h"
#include "step_trace.h"

namespace tally {
namespace {

const Device kCuda{DeviceKind::cuda, 0};

struct Traced {
  test::StepsResult result;
  Trace trace;
};

Traced traced_step(const std::string& model, const std::string& optimizer, Device device) {
  AllocatorConfig config;
  config.record = true;
  const auto allocator = device.kind == DeviceKind::cpu || device.kind == DeviceKind::cuda
                             ? configure_device(device, config)
                             : device_allocator(device);
  Traced t;
  t.result = test::run_steps(model, optimizer, device, 1);
  t.trace = allocator->trace();
  return t;
}

// Block events without the workspaces only the CUDA libraries take.
std::vector<test::StepEvent> block_events_but_workspace(const Trace& trace) {
  std::vector<test::StepEvent> out;
  for (const test::StepEvent& e : test::step_events(trace)) {
    const bool block =
        e.action == Action::alloc || e.action == Action::free || e.action == Action::retag;
    if (!block || e.tag == Tag::workspace || e.prev_tag == Tag::workspace) continue;
    out.push_back({e.action, e.requested, 0, e.tag, std::nullopt, 0, Phase::none});
  }
  return out;
}

// Each value within 1e-5 of the CPU's, relative to max(1, |cpu|), as the op table holds them.
void expect_close(const std::vector<std::vector<float>>& got,
                  const std::vector<std::vector<float>>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t p = 0; p < want.size(); ++p) {
    ASSERT_EQ(got[p].size(), want[p].size()) << what << ' ' << p;
    for (std::size_t i = 0; i < want[p].size(); ++i) {
      ASSERT_NEAR(got[p][i], want[p][i], 1e-5 * std::max(1.0f, std::fabs(want[p][i])))
          << what << ' ' << p << " element " << i;
    }
  }
}

class CudaStep : public ::testing::TestWithParam<std::pair<std::string, std::string>> {
 protected:
  void SetUp() override {
    const CudaProbe probe = probe_cuda();
    if (probe.devices.empty()) GTEST_SKIP() << "no CUDA device: " << probe.reason;
    device_ = probe.devices[0];
  }
  void TearDown() override { ops::set_cudnn_exact_algorithms(false); }
  CudaDeviceInfo device_;
};

TEST_P(CudaStep, MatchesTheCpuStepInValuesAndAllocations) {
  const auto& [model, optimizer] = GetParam();
  ops::set_cudnn_exact_algorithms(true);
  const Traced cpu = traced_step(model, optimizer, Device::cpu());
  const Traced cuda = traced_step(model, optimizer, kCuda);
  const float loss = cpu.result.losses[0];
  EXPECT_NEAR(cuda.result.losses[0], loss, 1e-5 * std::max(1.0f, std::fabs(loss)));
  expect_close(cuda.result.gradients, cpu.result.gradients, "gradient of parameter");
  if (optimizer == "sgd") {
    expect_close(cuda.result.parameters, cpu.result.parameters, "parameter");
  }
  const auto on_cpu = block_events_but_workspace(cpu.trace);
  const auto on_cuda = block_events_but_workspace(cuda.trace);
  ASSERT_FALSE(on_cpu.empty());
  ASSERT_EQ(on_cuda.size(), on_cpu.size());
  for (std::size_t i = 0; i < on_cpu.size(); ++i) {
    ASSERT_EQ(on_cuda[i], on_cpu[i]) << "block event " << i;
  }
}

TEST_P(CudaStep, SimCudaPredictsTheCudaTraceWithRecordedConvolutionChoices) {
  const auto& [model, optimizer] = GetParam();
  const Traced cuda = traced_step(model, optimizer, kCuda);
  ops::set_sim_conv_workspace(
      {ops::ConvWorkspacePolicy::recorded, ops::conv_algorithm_log(), "this process"});
  AllocatorConfig config;
  config.record = true;
  const Device sim = Device::parse("sim:cuda");
  SimSettings settings;
  settings.capacity = device_.total_memory;
  settings.compute_capability = device_.compute_major * 10 + device_.compute_minor;
  configure_sim_device(sim, config, settings);
  const Traced predicted = traced_step(model, optimizer, sim);
  ops::set_sim_conv_workspace({});

  const auto want = test::step_events(cuda.trace);
  const auto got = test::step_events(predicted.trace);
  ASSERT_EQ(got.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) ASSERT_EQ(got[i], want[i]) << "event " << i;
  EXPECT_EQ(ops::sim_conv_counts().bounded, 0u) << "a convolution missing from the log";
}

INSTANTIATE_TEST_SUITE_P(Models, CudaStep,
                         ::testing::Values(std::pair<std::string, std::string>{"mlp", "sgd"},
                                           std::pair<std::string, std::string>{"mlp", "adamw"},
                                           std::pair<std::string, std::string>{"cnn", "sgd"},
                                           std::pair<std::string, std::string>{"cnn", "adamw"},
                                           std::pair<std::string, std::string>{"gpt-tiny", "adamw"},
                                           std::pair<std::string, std::string>{"llama-tiny",
                                                                               "adamw"}),
                         [](const auto& info) {
                           std::string name = info.param.first + "_" + info.param.second;
                           for (char& ch : name) {
                             if (ch == '-') ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace tally
