// estimate's promise, to the byte: simulate_training() on sim:cpu peaks exactly where train() on
// cpu peaks in its training steps (its evaluation apart, allocator/peak_analysis.h), in
// allocated, reserved and requested bytes, for every zoo model, optimizer, batch, allocator
// configuration and precision arrangement. The whole grid is labelled slow; a representative slice
// runs everywhere, sanitizers included.
#include <gtest/gtest.h>

#include <cctype>
#include <ostream>
#include <string>
#include <vector>

#include "allocator/config.h"
#include "allocator/error.h"
#include "allocator/peak_analysis.h"
#include "allocator/units.h"
#include "core/device_registry.h"
#include "nn/data/tokens.h"
#include "nn/estimate.h"
#include "nn/models.h"
#include "nn/trainer.h"
#include "step_trace.h"

namespace tally {
namespace {

struct Case {
  std::string model;
  std::string optimizer;  // "sgd", "sgd-momentum" or "adamw"
  std::int64_t batch;
  std::string alloc_conf;   // as --alloc-conf takes it; "" for the default caching allocator
  bool must_retry = false;  // the limit is low enough that the cache gives segments back
  nn::Precision precision = nn::Precision::fp32;
};

std::string case_name(const Case& c) {
  std::string conf = c.alloc_conf.empty() ? "default" : c.alloc_conf;
  for (char& ch : conf) {
    if (!std::isalnum(static_cast<unsigned char>(ch))) ch = '_';
  }
  std::string optimizer = c.optimizer;
  for (char& ch : optimizer) {
    if (ch == '-') ch = '_';
  }
  std::string precision(nn::precision_name(c.precision));
  for (char& ch : precision) {
    if (ch == '-') ch = '_';
  }
  std::string model = c.model;
  for (char& ch : model) {
    if (ch == '-') ch = '_';
  }
  return model + "_" + optimizer + "_batch" + std::to_string(c.batch) + "_" + conf + "_" +
         precision;
}

std::ostream& operator<<(std::ostream& os, const Case& c) {
  return os << case_name(c);
}

nn::TrainOptions options_of(const Case& c, Device device) {
  nn::TrainOptions o;
  o.model = c.model;
  o.optimizer = c.optimizer == "adamw" ? "adamw" : "sgd";
  o.momentum = c.optimizer == "sgd-momentum" ? 0.9f : 0.0f;
  o.lr = nn::default_lr(o.optimizer);
  o.weight_decay = nn::default_weight_decay(o.optimizer);
  o.batch = c.batch;
  o.steps = 2;
  o.precision = c.precision;
  o.device = device;
  return o;
}

// One batch of pixels and labels, or of token windows of a transformer's context: what the data
// are changes no byte, only how many there are.
data::Dataset one_batch(const std::string& model, std::int64_t batch) {
  if (const auto transformer = nn::zoo_transformer(model)) {
    return data::synthetic_tokens(data::Split::test, transformer->vocab, transformer->context);
  }
  data::Dataset d;
  d.n = batch;
  d.images.resize(static_cast<std::size_t>(batch) * 28 * 28);
  d.labels.resize(static_cast<std::size_t>(batch));
  for (std::size_t i = 0; i < d.images.size(); ++i) d.images[i] = static_cast<std::uint8_t>(i * 7);
  for (std::size_t i = 0; i < d.labels.size(); ++i) d.labels[i] = static_cast<std::uint8_t>(i % 10);
  return d;
}

class EstimateExactness : public ::testing::TestWithParam<Case> {
 protected:
  void TearDown() override {
    configure_device(Device::cpu(), {});
    configure_device(Device::parse("sim:cpu"), {});
  }
};

TEST_P(EstimateExactness, SimulatedStepsPeakExactlyWhereTrainingStepsOnCpuPeak) {
  const Case& c = GetParam();
  const Device sim_cpu = Device::parse("sim:cpu");
  AllocatorConfig config = alloc_conf_from(c.alloc_conf);
  config.record = true;

  const auto sim = configure_device(sim_cpu, config);
  nn::simulate_training(options_of(c, sim_cpu), 2);
  const PeakSnapshot estimated = find_peak(sim->trace());
  const AllocatorStats sim_stats = sim->stats();
  // The trace tells what the allocator counted.
  EXPECT_EQ(estimated.allocated, sim_stats.total.allocated_bytes.peak);
  EXPECT_EQ(estimated.peak_reserved, sim_stats.reserved_bytes.peak);
  EXPECT_EQ(estimated.peak_requested, sim_stats.total.requested_bytes.peak);

  const auto cpu = configure_device(Device::cpu(), config);
  const data::Dataset data = one_batch(c.model, c.batch);
  nn::train(options_of(c, Device::cpu()), data, data);
  const AllocatorStats cpu_stats = cpu->stats();
  cpu->empty_cache();
  const RunPeaks trained = find_run_peaks(cpu->trace());
  EXPECT_TRUE(trained.evaluation.found);
  EXPECT_EQ(trained.training.allocated, estimated.allocated);
  EXPECT_EQ(trained.training.peak_reserved, estimated.peak_reserved);
  EXPECT_EQ(trained.training.peak_requested, estimated.peak_requested);
  EXPECT_EQ(trained.training.phase, estimated.phase);
  EXPECT_EQ(trained.training.scope, estimated.scope);
  // Evaluation asks for nothing that makes the cache retry.
  EXPECT_EQ(cpu_stats.num_alloc_retries, sim_stats.num_alloc_retries);
  // Not a vacuous match: the peak holds the parameters and what backward needs or made (the
  // transformers peak in the loss, before any gradient exists).
  const auto at_peak = [&](Tag tag) { return estimated.by_tag[index_of(tag)].allocated; };
  EXPECT_GT(at_peak(Tag::parameter), 0);
  EXPECT_GT(at_peak(Tag::gradient) + at_peak(Tag::activation), 0);
  if (c.must_retry) {
    EXPECT_GT(sim_stats.num_alloc_retries, 0);
    EXPECT_LE(sim_stats.reserved_bytes.peak, static_cast<std::int64_t>(*config.limit));
  }
}

// Batches that are not powers of two, both optimizers (SGD with and without momentum), and
// every allocator configuration --alloc-conf offers: caching with and without a split limit
// (PyTorch's max_split_size_mb, which must exceed 20), the cudaMalloc-like direct strategy, and
// a memory limit low enough that a cnn step at batch 257 empties the cache and retries; in every
// precision arrangement.
std::vector<Case> grid() {
  std::vector<Case> out;
  for (const std::string& model : test::grid_models()) {
    for (const char* optimizer : {"sgd", "sgd-momentum", "adamw"}) {
      for (const std::int64_t batch : {1, 3, 100, 257}) {
        for (const char* conf : {"", "max_split_size_mb:21", "strategy:direct", "limit:96MiB"}) {
          for (const std::string& precision : nn::precision_names()) {
            out.push_back({model, optimizer, batch, conf, false, nn::parse_precision(precision)});
          }
        }
      }
    }
  }
  return out;
}

std::vector<Case> representative() {
  return {{"mlp", "sgd", 1, ""},
          {"mlp", "sgd-momentum", 257, "max_split_size_mb:21"},
          {"mlp", "adamw", 100, "strategy:direct"},
          {"cnn", "adamw", 3, ""},
          {"cnn", "sgd-momentum", 1, "strategy:direct"},
          // Reserves 110 MiB unlimited (allocating 68.5 MiB): under 96 MiB, the cache retries.
          {"cnn", "sgd", 257, "limit:96MiB", true},
          // Each other arrangement once, on both models, with both kinds of optimizer state.
          {"mlp", "adamw", 3, "", false, nn::Precision::amp_fp16},
          {"cnn", "sgd-momentum", 3, "max_split_size_mb:21", false, nn::Precision::amp_bf16},
          {"mlp", "sgd-momentum", 100, "strategy:direct", false, nn::Precision::fp16},
          {"cnn", "adamw", 1, "", false, nn::Precision::bf16},
          {"cnn", "adamw", 100, "", false, nn::Precision::fp16},
          {"mlp", "sgd", 1, "", false, nn::Precision::amp_fp16},
          // The transformers, whose steps hold attention's products and the vocabulary's logits.
          {"gpt-tiny", "adamw", 3, ""},
          {"llama-tiny", "sgd-momentum", 2, "max_split_size_mb:21", false, nn::Precision::amp_bf16},
          {"gpt-tiny", "adamw", 5, "strategy:direct", false, nn::Precision::bf16}};
}

const auto kName = [](const auto& info) { return case_name(info.param); };
INSTANTIATE_TEST_SUITE_P(Representative, EstimateExactness, ::testing::ValuesIn(representative()),
                         kName);
INSTANTIATE_TEST_SUITE_P(Grid, EstimateExactness, ::testing::ValuesIn(grid()), kName);

}  // namespace
}  // namespace tally
