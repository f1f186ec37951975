// Training steps run the same way on any device, and their traces compared as sim promises:
// event for event in everything but time, address, device and stream.
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <ostream>
#include <string>
#include <vector>

#include "allocator/event.h"
#include "autograd/variable.h"
#include "core/device_registry.h"
#include "core/generator.h"
#include "nn/data/loader.h"
#include "nn/data/synthetic.h"
#include "nn/data/tokens.h"
#include "nn/models.h"
#include "nn/trainer.h"

namespace tally::test {

struct StepEvent {
  Action action;
  std::uint64_t requested, allocated;
  std::optional<Tag> tag, prev_tag;
  ScopeId scope;
  Phase phase;
  bool operator==(const StepEvent&) const = default;
};

inline std::ostream& operator<<(std::ostream& os, const StepEvent& e) {
  os << action_name(e.action) << ' ' << e.requested << '/' << e.allocated << " B";
  if (e.tag) os << ' ' << tag_name(*e.tag);
  return os << " in " << scope_name(e.scope) << " during " << phase_name(e.phase);
}

inline std::vector<StepEvent> step_events(const Trace& trace) {
  std::vector<StepEvent> out;
  for (const Event& e : trace.events) {
    out.push_back({e.action, e.requested, e.allocated, e.tag, e.prev_tag, e.scope, e.phase});
  }
  return out;
}

struct StepsResult {
  std::vector<float> losses;                   // 0 on sim
  std::vector<std::vector<float>> initial;     // the parameters before the first step; empty on sim
  std::vector<std::vector<float>> parameters;  // after the last step; empty on sim
  std::vector<std::vector<float>> gradients;   // the last step's, by parameter; empty on sim
};

// `steps` training steps of `model` with `optimizer` in `precision` and `checkpoint` on `device`,
// whose allocator
// the caller configured with recording on: seed, model, optimizer, loader and steps, as tally
// train runs them.
inline StepsResult run_steps(const std::string& model_name, const std::string& optimizer,
                             Device device, int steps, std::int64_t batch = 32,
                             nn::Precision precision = nn::Precision::fp32,
                             nn::CheckpointPolicy checkpoint = {}) {
  static const data::Dataset images = data::synthetic_fashion_mnist(data::Split::test);
  manual_seed(11);
  nn::TrainOptions options;
  options.model = model_name;
  options.optimizer = optimizer;
  options.lr = nn::default_lr(optimizer);
  options.momentum = 0.9f;
  options.device = device;
  options.precision = precision;
  options.checkpoint = std::move(checkpoint);
  options = nn::resolve_model(options);
  // A transformer reads windows of random tokens of its context's length.
  const data::Dataset tokens =
      options.transformer
          ? data::synthetic_tokens(data::Split::test, options.transformer->vocab, options.seq_len)
          : data::Dataset{};
  const data::Dataset& dataset = options.transformer ? tokens : images;
  nn::Learner learner = nn::make_learner(options);
  data::LoaderOptions loader_options;
  loader_options.batch_size = batch;
  loader_options.device = device;
  data::BatchLoader loader(dataset, loader_options);
  StepsResult r;
  if (device.kind != DeviceKind::sim) {
    for (const Tensor& p : learner.model->parameters()) r.initial.push_back(p.to_floats());
  }
  for (int i = 0; i < steps; ++i) {
    const data::Batch b = loader.next();
    r.losses.push_back(nn::train_step(learner, b.inputs, b.labels));
  }
  if (device.kind != DeviceKind::sim) {
    for (const Tensor& p : learner.model->parameters()) {
      r.parameters.push_back(p.to_floats());
      r.gradients.push_back(grad(p).to_floats());
    }
  }
  return r;
}

// A zoo model in a precision arrangement, as parameterised tests take them.
struct PrecisionCase {
  std::string model;
  nn::Precision precision;
};

inline std::ostream& operator<<(std::ostream& os, const PrecisionCase& c) {
  return os << c.model << ' ' << nn::precision_name(c.precision);
}

// The models the grids of cases run: the Fashion-MNIST pair. deep-mlp, 68 M parameters built for
// checkpointing, has its own cases in checkpoint_test.cpp.
inline std::vector<std::string> grid_models() {
  return {"mlp", "cnn"};
}

// The zoo's tiny transformers, which the exactness grids run as well.
inline std::vector<std::string> transformer_models() {
  return {"gpt-tiny", "llama-tiny"};
}

// Every grid model in every arrangement, fp32 included or not.
inline std::vector<PrecisionCase> precision_cases(bool with_fp32) {
  std::vector<PrecisionCase> out;
  for (const std::string& model : grid_models()) {
    for (const std::string& name : nn::precision_names()) {
      const nn::Precision precision = nn::parse_precision(name);
      if (with_fp32 || precision != nn::Precision::fp32) out.push_back({model, precision});
    }
  }
  return out;
}

// "cnn_amp_fp16": a test name, which takes no '-'.
inline std::string precision_case_name(const ::testing::TestParamInfo<PrecisionCase>& info) {
  std::string name = info.param.model + "_" + std::string(nn::precision_name(info.param.precision));
  for (char& ch : name) {
    if (ch == '-') ch = '_';
  }
  return name;
}

}  // namespace tally::test
