#include "nn/estimate.h"

#include <chrono>

#include "allocator/error.h"
#include "core/device_registry.h"
#include "core/generator.h"
#include "nn/models.h"

namespace tally::nn {

std::array<std::int64_t, 3> textbook_bytes_per_parameter(const TrainOptions& options) {
  const std::int64_t word = 4;  // fp32 weights, gradients and optimizer state
  std::int64_t optimizer = 0;
  if (options.optimizer == "adamw") optimizer = 2 * word;
  if (options.optimizer == "sgd" && options.momentum > 0.0f) optimizer = word;
  return {word, word, optimizer};
}

EstimateResult simulate_training(const TrainOptions& options, std::int64_t steps) {
  if (options.device.kind != DeviceKind::sim) {
    throw UsageError("estimate: runs on a sim device, not " + options.device.str());
  }
  if (steps < 1) throw UsageError("estimate: --steps must be at least 1");
  if (options.batch < 1) throw UsageError("estimate: --batch must be at least 1");
  // The same objects in the same order as train(): seed, model, optimizer, loader, steps. A
  // dataset of one batch's worth of samples and no pixels: sim batches are shapes only.
  manual_seed(options.seed);
  const auto start = std::chrono::steady_clock::now();
  std::shared_ptr<Module> model = make_model(options.model, options.device);
  std::unique_ptr<Optimizer> optimizer = make_optimizer(options, *model);
  data::Dataset shapes_only;
  shapes_only.n = options.batch;
  data::BatchLoader loader(shapes_only, train_loader_options(options));
  for (std::int64_t step = 0; step < steps; ++step) {
    const data::Batch batch = loader.next();
    train_step(*model, *optimizer, batch.images, batch.labels);
  }
  EstimateResult r;
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.parameters = model->parameter_count();
  r.steps = steps;
  const AllocatorStats stats = device_allocator(options.device)->stats();
  const auto per_parameter = textbook_bytes_per_parameter(options);
  const std::array<Tag, 3> tags{Tag::parameter, Tag::gradient, Tag::optimizer};
  for (std::size_t i = 0; i < tags.size(); ++i) {
    const BlockStats& b = stats.of(tags[i]);
    r.model_states.push_back({tags[i], per_parameter[i], per_parameter[i] * r.parameters,
                              b.requested_bytes.current, b.allocated_bytes.current,
                              b.allocation.current});
  }
  return r;
}

}  // namespace tally::nn
