#include "nn/estimate.h"

#include <chrono>

#include "allocator/error.h"
#include "core/device_registry.h"
#include "core/generator.h"
#include "nn/models.h"

namespace tally::nn {

std::vector<std::pair<Tag, std::int64_t>> textbook_bytes_per_parameter(
    const TrainOptions& options) {
  const std::int64_t word = 4;  // optimizer state is f32 in every arrangement
  std::int64_t optimizer = 0;
  if (options.optimizer == "adamw") optimizer = 2 * word;
  if (options.optimizer == "sgd" && options.momentum > 0.0f) optimizer = word;
  if (keeps_master_weights(options.precision)) {
    return {{Tag::parameter, 2}, {Tag::gradient, 2}, {Tag::optimizer, word + optimizer}};
  }
  std::vector<std::pair<Tag, std::int64_t>> states = {
      {Tag::parameter, word}, {Tag::gradient, word}, {Tag::optimizer, optimizer}};
  if (is_autocast(options.precision)) states.emplace_back(Tag::cast_cache, 2);
  return states;
}

EstimateResult simulate_training(const TrainOptions& requested, std::int64_t steps) {
  const TrainOptions options = resolve_model(requested);
  if (options.device.kind != DeviceKind::sim) {
    throw UsageError("estimate: runs on a sim device, not " + options.device.str());
  }
  if (steps < 1) throw UsageError("estimate: --steps must be at least 1");
  if (options.batch < 1) throw UsageError("estimate: --batch must be at least 1");
  // The same objects in the same order as train(): seed, model, optimizer, loader, steps. A
  // dataset of one batch's worth of samples and no pixels: sim batches are shapes only.
  manual_seed(options.seed);
  const auto start = std::chrono::steady_clock::now();
  Learner learner = make_learner(options);
  const data::Dataset shapes_only = shapes_only_dataset(
      options, options.batch * (learner.parallel ? learner.parallel->world_size() : 1));
  data::BatchLoader loader(shapes_only, train_loader_options(options, learner.parallel.get()));
  for (std::int64_t step = 0; step < steps; ++step) {
    const data::Batch batch = loader.next();
    ops::reset_flop_count();
    train_step(learner, batch.inputs, batch.labels);
  }
  EstimateResult r;
  r.flops = ops::flop_count();
  r.blocks = static_cast<std::int64_t>(checkpoint_target(*learner.model).blocks().size());
  r.segments = plan_segments(options.checkpoint, r.blocks);
  r.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  r.parameters = learner.model->parameter_count();
  r.steps = steps;
  const AllocatorStats stats = device_allocator(options.device)->stats();
  const DataParallel* parallel = learner.parallel.get();
  for (const auto& [tag, per_parameter] : textbook_bytes_per_parameter(options)) {
    const Tag measured = parallel && tag == Tag::gradient ? Tag::communication : tag;
    const std::int64_t shards =
        parallel && tag == Tag::optimizer ? parallel->optimizer_shards() : 1;
    const BlockStats& b = stats.of(measured);
    // Autocast's copies are gone once a step is done: they are measured at their peak.
    const auto at = [peak = tag == Tag::cast_cache](const Stat& s) {
      return peak ? s.peak : s.current;
    };
    r.model_states.push_back({tag, measured, per_parameter, per_parameter * r.parameters / shards,
                              at(b.requested_bytes), at(b.allocated_bytes), at(b.allocation)});
  }
  return r;
}

std::int64_t recomputed_blocks(const std::vector<BlockSegment>& segments) {
  std::int64_t n = 0;
  for (const BlockSegment& s : segments) n += s.checkpointed ? s.end - s.begin : 0;
  return n;
}

}  // namespace tally::nn
