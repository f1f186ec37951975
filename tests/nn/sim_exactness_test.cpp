// sim's promise: the unchanged model, loss, backward and optimizer on sim:cpu request exactly
// what they request on cpu — every event's action, requested and allocated bytes, tag, scope
// and phase, in the same order — so the peaks agree to the byte. For every zoo model, with both
// optimizers, in every precision, over two steps (the second is the first with optimizer state
// alive throughout); the tiny transformers also with every block checkpointed.
#include <gtest/gtest.h>

#include <algorithm>

#include "step_trace.h"

namespace tally {
namespace {

struct Case {
  std::string model, optimizer;
  nn::Precision precision;
  std::string checkpoint = "none";
};

void PrintTo(const Case& c, std::ostream* out) {
  *out << c.model << " " << c.optimizer << " " << nn::precision_name(c.precision) << " "
       << c.checkpoint;
}

class SimExactness : public ::testing::TestWithParam<Case> {};

TEST_P(SimExactness, SimCpuTraceEqualsTheCpuTraceEventForEvent) {
  const Device sim = Device::parse("sim:cpu");
  AllocatorConfig config;
  config.record = true;
  const auto cpu_allocator = configure_device(Device::cpu(), config);
  const auto sim_allocator = configure_device(sim, config);
  const Case& run = GetParam();
  const nn::CheckpointPolicy policy = nn::parse_checkpoint_policy(run.checkpoint);
  test::run_steps(run.model, run.optimizer, Device::cpu(), 2, 32, run.precision, policy);
  test::run_steps(run.model, run.optimizer, sim, 2, 32, run.precision, policy);

  const auto on_cpu = test::step_events(cpu_allocator->trace());
  const auto on_sim = test::step_events(sim_allocator->trace());
  ASSERT_GT(on_cpu.size(), 100u);
  ASSERT_EQ(on_sim.size(), on_cpu.size());
  for (std::size_t i = 0; i < on_cpu.size(); ++i) ASSERT_EQ(on_sim[i], on_cpu[i]) << "event " << i;
  const AllocatorStats c = cpu_allocator->stats(), s = sim_allocator->stats();
  EXPECT_EQ(s.total.requested_bytes.peak, c.total.requested_bytes.peak);
  EXPECT_EQ(s.total.allocated_bytes.peak, c.total.allocated_bytes.peak);
  EXPECT_EQ(s.reserved_bytes.peak, c.reserved_bytes.peak);
  configure_device(Device::cpu(), {});
  configure_device(sim, {});
}

std::vector<Case> cases() {
  std::vector<Case> out;
  for (const std::string& model : test::grid_models()) {
    for (const char* optimizer : {"sgd", "adamw"}) {
      for (const std::string& precision : nn::precision_names()) {
        out.push_back({model, optimizer, nn::parse_precision(precision)});
      }
    }
  }
  for (const std::string& model : test::transformer_models()) {
    for (const std::string& precision : nn::precision_names()) {
      for (const char* checkpoint : {"none", "every:1"}) {
        out.push_back({model, "adamw", nn::parse_precision(precision), checkpoint});
      }
    }
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Zoo, SimExactness, ::testing::ValuesIn(cases()), [](const auto& info) {
  std::string precision(nn::precision_name(info.param.precision));
  std::replace(precision.begin(), precision.end(), '-', '_');
  std::string name = info.param.model + "_" + info.param.optimizer + "_" + precision;
  if (info.param.checkpoint != "none") name += "_checkpointed";
  for (char& ch : name) {
    if (ch == '-') ch = '_';
  }
  return name;
});

}  // namespace
}  // namespace tally
