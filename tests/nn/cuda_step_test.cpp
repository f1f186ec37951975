// One training step on cuda against the same step on cpu: the loss and every updated parameter
// agree within f32 tolerance, and the allocator sees the same sequence of block events (action,
// requested bytes, tag) on both devices, workspace events aside (cuBLAS and cuDNN take workspaces
// the CPU kernels do not). Skips, saying why, without a CUDA device.
#include <gtest/gtest.h>

#include <cmath>

#include "allocator/cuda_device.h"
#include "core/device_registry.h"
#include "core/generator.h"
#include "nn/data/loader.h"
#include "nn/data/synthetic.h"
#include "nn/models.h"
#include "nn/trainer.h"

namespace tally {
namespace {

struct BlockEvent {
  Action action;
  std::uint64_t requested;
  Tag tag;
  bool operator==(const BlockEvent&) const = default;
};

std::ostream& operator<<(std::ostream& os, const BlockEvent& e) {
  return os << action_name(e.action) << " " << e.requested << " B " << tag_name(e.tag);
}

struct StepResult {
  float loss = 0;
  std::vector<std::vector<float>> parameters;
  std::vector<BlockEvent> events;
};

StepResult one_step(const std::string& model_name, const std::string& optimizer, Device device) {
  AllocatorConfig config;
  config.record = true;
  const auto allocator = configure_device(device, config);
  StepResult r;
  {
    manual_seed(11);
    nn::TrainOptions options;
    options.model = model_name;
    options.optimizer = optimizer;
    options.lr = optimizer == "adamw" ? 1e-3f : 0.1f;
    options.momentum = 0.9f;
    const auto model = nn::make_model(model_name, device);
    const auto opt = nn::make_optimizer(options, *model);
    static const data::Dataset dataset = data::synthetic_fashion_mnist(data::Split::test);
    data::LoaderOptions loader_options;
    loader_options.batch_size = 32;
    loader_options.device = device;
    data::BatchLoader loader(dataset, loader_options);
    const data::Batch batch = loader.next();
    r.loss = nn::train_step(*model, *opt, batch.images, batch.labels);
    for (const Tensor& p : model->parameters()) r.parameters.push_back(p.to_floats());
  }
  for (const Event& e : allocator->trace().events) {
    const bool block =
        e.action == Action::alloc || e.action == Action::free || e.action == Action::retag;
    if (!block || e.tag == Tag::workspace || e.prev_tag == Tag::workspace) continue;
    r.events.push_back({e.action, e.requested, *e.tag});
  }
  return r;
}

class CudaStep : public ::testing::TestWithParam<std::pair<std::string, std::string>> {
 protected:
  void SetUp() override {
    const CudaProbe probe = probe_cuda();
    if (probe.devices.empty()) GTEST_SKIP() << "no CUDA device: " << probe.reason;
  }
};

TEST_P(CudaStep, MatchesTheCpuStepInValuesAndAllocations) {
  const auto& [model, optimizer] = GetParam();
  const StepResult cpu = one_step(model, optimizer, Device::cpu());
  const StepResult cuda = one_step(model, optimizer, Device{DeviceKind::cuda, 0});
  EXPECT_NEAR(cuda.loss, cpu.loss, 1e-5 * std::max(1.0f, std::fabs(cpu.loss)));
  ASSERT_EQ(cuda.parameters.size(), cpu.parameters.size());
  for (std::size_t p = 0; p < cpu.parameters.size(); ++p) {
    ASSERT_EQ(cuda.parameters[p].size(), cpu.parameters[p].size());
    for (std::size_t i = 0; i < cpu.parameters[p].size(); ++i) {
      ASSERT_NEAR(cuda.parameters[p][i], cpu.parameters[p][i],
                  1e-5 * std::max(1.0f, std::fabs(cpu.parameters[p][i])))
          << "parameter " << p << " element " << i;
    }
  }
  ASSERT_FALSE(cpu.events.empty());
  ASSERT_EQ(cuda.events.size(), cpu.events.size());
  for (std::size_t i = 0; i < cpu.events.size(); ++i) {
    ASSERT_EQ(cuda.events[i], cpu.events[i]) << "block event " << i;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, CudaStep,
                         ::testing::Values(std::pair<std::string, std::string>{"mlp", "sgd"},
                                           std::pair<std::string, std::string>{"cnn", "adamw"}),
                         [](const auto& info) { return info.param.first; });

}  // namespace
}  // namespace tally
