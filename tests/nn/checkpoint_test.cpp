// Checkpoint policies on the zoo: how a policy cuts a model's blocks, gradients bit-identical to
// the uncheckpointed step's (deep-mlp's dropout inside the segments included) in fp32 and 16-bit
// arrangements, sim:cpu's trace equal to the cpu's event for event under every kind of policy, and
// deep-mlp's activation peak under none, every:1 and sqrt equal to the figures computed by hand.
#include <gtest/gtest.h>

#include <cctype>
#include <cstring>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "allocator/error.h"
#include "core/device_registry.h"
#include "nn/checkpoint_policy.h"
#include "nn/models.h"
#include "step_trace.h"

namespace tally {
namespace {

using nn::BlockSegment;
using nn::CheckpointPolicy;
using nn::parse_checkpoint_policy;
using nn::plan_segments;

TEST(CheckpointPolicy, ParsesEachKindAndNamesItAsParsed) {
  for (const char* text : {"none", "sqrt", "every:1", "every:12", "blocks:3", "blocks:0-2,5,7-9"}) {
    EXPECT_EQ(parse_checkpoint_policy(text).name(), text);
  }
  EXPECT_EQ(parse_checkpoint_policy("blocks:5,0,1,2").name(), "blocks:0-2,5");
  for (const char* bad : {"", "auto", "every:0", "every:", "every:x", "blocks:", "blocks:1,1",
                          "blocks:3-1", "blocks:-1", "sqrt:2", "Every:2"}) {
    EXPECT_THROW(parse_checkpoint_policy(bad), UsageError) << bad;
  }
}

TEST(CheckpointPolicy, CutsBlocksAsDocumented) {
  using S = std::vector<BlockSegment>;
  EXPECT_EQ(plan_segments({}, 5), (S{{0, 5, false}}));
  EXPECT_EQ(plan_segments(parse_checkpoint_policy("every:2"), 5),
            (S{{0, 2, true}, {2, 4, true}, {4, 5, false}}));
  EXPECT_EQ(plan_segments(parse_checkpoint_policy("every:1"), 3),
            (S{{0, 1, true}, {1, 2, true}, {2, 3, false}}));
  EXPECT_EQ(plan_segments(parse_checkpoint_policy("every:5"), 5), (S{{0, 5, false}}));
  // sqrt of 32 blocks: 6 segments, 5, 5, 5, 5, 6 and 6 blocks; of 10: 4 segments, 2, 2, 3, 3.
  EXPECT_EQ(plan_segments(parse_checkpoint_policy("sqrt"), 32), (S{{0, 5, true},
                                                                   {5, 10, true},
                                                                   {10, 15, true},
                                                                   {15, 20, true},
                                                                   {20, 26, true},
                                                                   {26, 32, false}}));
  EXPECT_EQ(plan_segments(parse_checkpoint_policy("sqrt"), 10),
            (S{{0, 2, true}, {2, 4, true}, {4, 7, true}, {7, 10, false}}));
  EXPECT_EQ(plan_segments(parse_checkpoint_policy("sqrt"), 1), (S{{0, 1, false}}));
  EXPECT_EQ(
      plan_segments(parse_checkpoint_policy("blocks:1,3-4"), 6),
      (S{{0, 1, false}, {1, 2, true}, {2, 3, false}, {3, 4, true}, {4, 5, true}, {5, 6, false}}));
  EXPECT_THROW(plan_segments(parse_checkpoint_policy("every:6"), 5), UsageError);
  EXPECT_THROW(plan_segments(parse_checkpoint_policy("blocks:5"), 5), UsageError);
}

TEST(CheckpointPolicy, TheZooModelsBlocksAreTheirLayersOrTheirRepeatedBlocks) {
  const std::map<std::string, std::vector<std::string>> first_and_last{
      {"mlp", {"layers.0", "layers.5"}},
      {"cnn", {"features.0", "classifier.3"}},
      {"deep-mlp", {"0", "31"}}};
  for (const auto& [model, ends] : first_and_last) {
    configure_device(Device::sim(SimTarget::cpu), {});
    const auto m = nn::make_model(model, Device::sim(SimTarget::cpu));
    const auto blocks = nn::checkpoint_target(*m).blocks();
    ASSERT_FALSE(blocks.empty()) << model;
    EXPECT_EQ(blocks.front().first, ends[0]) << model;
    EXPECT_EQ(blocks.back().first, ends[1]) << model;
  }
}

struct Case {
  std::string model;
  std::string policy;
};

std::vector<Case> cases() {
  return {{"mlp", "every:1"},    {"mlp", "sqrt"},
          {"mlp", "blocks:1,3"}, {"cnn", "every:2"},
          {"cnn", "sqrt"},       {"cnn", "blocks:0,3-4,7"},
          {"deep-mlp", "sqrt"},  {"deep-mlp", "blocks:0,5-7,31"}};
}

void PrintTo(const Case& c, std::ostream* os) {
  *os << c.model << ' ' << c.policy;
}

std::string case_name(const ::testing::TestParamInfo<Case>& info) {
  std::string name = info.param.model + "_" + info.param.policy;
  for (char& ch : name) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  return name;
}

class CheckpointedStep : public ::testing::TestWithParam<Case> {};

constexpr std::int64_t kBatch = 4;

TEST_P(CheckpointedStep, SimCpuTraceEqualsTheCpuTraceEventForEvent) {
  const auto& [model, policy] = GetParam();
  const Device sim = Device::sim(SimTarget::cpu);
  AllocatorConfig recording;
  recording.record = true;
  const auto cpu_allocator = configure_device(Device::cpu(), recording);
  const auto sim_allocator = configure_device(sim, recording);
  test::run_steps(model, "adamw", Device::cpu(), 2, kBatch, nn::Precision::fp32,
                  parse_checkpoint_policy(policy));
  test::run_steps(model, "adamw", sim, 2, kBatch, nn::Precision::fp32,
                  parse_checkpoint_policy(policy));
  const auto on_cpu = test::step_events(cpu_allocator->trace());
  const auto on_sim = test::step_events(sim_allocator->trace());
  ASSERT_EQ(on_cpu.size(), on_sim.size());
  for (std::size_t i = 0; i < on_cpu.size(); ++i) ASSERT_EQ(on_cpu[i], on_sim[i]) << "event " << i;
  std::size_t recomputed = 0;
  for (const Event& e : cpu_allocator->trace().events) recomputed += e.phase == Phase::recompute;
  EXPECT_GT(recomputed, 0u);
}

INSTANTIATE_TEST_SUITE_P(Zoo, CheckpointedStep, ::testing::ValuesIn(cases()), case_name);

// Each model's policies against one uncheckpointed step per precision: fp32, autocast and 16-bit
// parameters with f32 masters for mlp and cnn; fp32 and amp-bf16 for deep-mlp, whose steps take
// seconds on the CPU.
TEST(CheckpointedStep, GradientsAreBitIdenticalToTheUncheckpointedStep) {
  using P = nn::Precision;
  for (const std::string model : {"mlp", "cnn", "deep-mlp"}) {
    const std::vector<P> precisions = model == "deep-mlp"
                                          ? std::vector<P>{P::fp32, P::amp_bf16}
                                          : std::vector<P>{P::fp32, P::amp_fp16, P::bf16};
    for (const P precision : precisions) {
      configure_device(Device::cpu(), {});
      const auto plain = test::run_steps(model, "sgd", Device::cpu(), 1, kBatch, precision);
      for (const Case& c : cases()) {
        if (c.model != model) continue;
        const auto checkpointed = test::run_steps(model, "sgd", Device::cpu(), 1, kBatch, precision,
                                                  parse_checkpoint_policy(c.policy));
        const std::string where =
            model + " " + c.policy + " " + std::string(nn::precision_name(precision));
        ASSERT_EQ(plain.gradients.size(), checkpointed.gradients.size()) << where;
        for (std::size_t i = 0; i < plain.gradients.size(); ++i) {
          const auto& a = plain.gradients[i];
          const auto& b = checkpointed.gradients[i];
          ASSERT_EQ(a.size(), b.size()) << where;
          EXPECT_EQ(std::memcmp(a.data(), b.data(), a.size() * sizeof(float)), 0)
              << "parameter " << i << " in " << where;
        }
        EXPECT_EQ(plain.losses, checkpointed.losses) << where;
      }
    }
  }
}

// deep-mlp's saved tensors at batch 8, width 1024, f32: a row [8, 1024] is 32 KiB and a dropout
// mask 8 KiB, whole numbers of blocks. A block saves its input (for fc1), relu's output, the mask
// and the dropout's output (for fc2): 3 rows and a mask. The head saves its input, a row, and the
// loss its log-probabilities [8, 10], 320 B in a 512-byte block. The stem's input is the batch,
// tagged other, not an activation.
constexpr std::int64_t kRow = 8 * 1024 * 4, kMask = 8 * 1024, kLoss = 512;
constexpr std::int64_t kBlock = 3 * kRow + kMask;

std::int64_t activation_peak(const std::string& policy) {
  const auto allocator = configure_device(Device::sim(SimTarget::cpu), {});
  test::run_steps("deep-mlp", "sgd", Device::sim(SimTarget::cpu), 1, 8, nn::Precision::fp32,
                  parse_checkpoint_policy(policy));
  return allocator->stats().of(Tag::activation).allocated_bytes.peak;
}

TEST(CheckpointMemory, DeepMlpActivationPeaksMatchTheHandComputedFigures) {
  // none: everything is alive at the end of the forward pass.
  EXPECT_EQ(activation_peak("none"), 32 * kBlock + kRow + kLoss);
  // every:1: blocks 0-30 keep only their inputs; block 31 runs plainly. The end of the forward
  // pass is the peak: recomputing one block adds 2 rows and a mask once block 31, the head's
  // input and the loss's are gone.
  EXPECT_EQ(activation_peak("every:1"), 31 * kRow + kBlock + kRow + kLoss);
  // sqrt: segments of 5, 5, 5, 5, 6 and 6 blocks, the last plain. The end of the forward pass is
  // the peak: 5 kept inputs and the last 6 blocks' saved tensors; recomputing blocks 20-25 later
  // holds the same 6 blocks less a row (block 20's input, kept already) and no head or loss.
  EXPECT_EQ(activation_peak("sqrt"), 5 * kRow + 6 * kBlock + kRow + kLoss);
}

}  // namespace
}  // namespace tally
