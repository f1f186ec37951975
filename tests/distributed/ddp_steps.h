// Training steps under DDP and their single-process reference, as the distributed tests compare
// them: the same seed, model and data, with each rank's batch the reference's divided by the
// world size.
#pragma once

#include <algorithm>
#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "autograd/variable.h"
#include "core/generator.h"
#include "distributed/ddp.h"
#include "nn/data/loader.h"
#include "nn/data/synthetic.h"
#include "nn/trainer.h"

namespace tally::test {

struct DdpSteps {
  std::vector<std::vector<float>> parameters;  // after the last step; empty on sim
  std::vector<float> losses;                   // each step's, this rank's
};

inline nn::TrainOptions ddp_train_options(const std::string& model, const std::string& optimizer,
                                          std::int64_t batch, Device device) {
  nn::TrainOptions o;
  o.model = model;
  o.optimizer = optimizer;
  o.lr = optimizer == "adamw" ? 1e-3f : 0.05f;
  o.momentum = optimizer == "sgd" ? 0.9f : 0.0f;
  o.weight_decay = nn::default_weight_decay(optimizer);
  o.batch = batch;
  o.device = device;
  return o;
}

// `steps` steps of `options` as train() runs them; under `group` (null: one process) with
// `ddp`, each rank on its shard of every batch. `learner_out`, when given, keeps the learner.
inline DdpSteps run_ddp_steps(nn::TrainOptions options, int steps,
                              std::shared_ptr<dist::ProcessGroup> group = nullptr,
                              dist::DdpOptions ddp = {}, nn::Learner* learner_out = nullptr) {
  static const data::Dataset dataset = data::synthetic_fashion_mnist(data::Split::test);
  manual_seed(5);
  if (group) options.data_parallel = dist::data_parallel(group, ddp, options);
  nn::Learner learner = nn::make_learner(options);
  data::Dataset shapes_only;
  shapes_only.n = dataset.n;
  const bool sim = options.device.kind == DeviceKind::sim;
  data::BatchLoader loader(sim ? shapes_only : dataset,
                           nn::train_loader_options(options, learner.parallel.get()));
  DdpSteps r;
  for (int i = 0; i < steps; ++i) {
    const data::Batch b = loader.next();
    r.losses.push_back(nn::train_step(learner, b.inputs, b.labels));
  }
  if (!sim) {
    for (const Tensor& p : learner.model->parameters()) r.parameters.push_back(p.to_floats());
  }
  if (learner_out) *learner_out = std::move(learner);
  return r;
}

// max over parameters of |a - b| / max(|b|, tiny), in double, as the norm of the difference over
// the norm of the reference.
inline double max_relative_difference(const std::vector<std::vector<float>>& a,
                                      const std::vector<std::vector<float>>& b) {
  double worst = 0.0;
  for (std::size_t i = 0; i < a.size() && i < b.size(); ++i) {
    double diff = 0.0, norm = 0.0;
    for (std::size_t k = 0; k < a[i].size(); ++k) {
      const double d = static_cast<double>(a[i][k]) - b[i][k];
      diff += d * d;
      norm += static_cast<double>(b[i][k]) * b[i][k];
    }
    worst = std::max(worst, std::sqrt(diff) / std::max(std::sqrt(norm), 1e-30));
  }
  return worst;
}

}  // namespace tally::test
