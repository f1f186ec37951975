#include "nn/trainer.h"

#include <chrono>
#include <cmath>

#include "allocator/error.h"
#include "allocator/scope.h"
#include "autograd/autocast.h"
#include "autograd/engine.h"
#include "autograd/functions.h"
#include "autograd/grad_mode.h"
#include "autograd/nn_functions.h"
#include "core/generator.h"
#include "nn/data/loader.h"
#include "nn/models.h"
#include "nn/transformer.h"
#include "ops/reduce.h"

namespace tally::nn {
namespace {

using Clock = std::chrono::steady_clock;

void check_options(const TrainOptions& o) {
  if (o.batch < 1) {
    throw UsageError("train: --batch must be at least 1, got " + std::to_string(o.batch));
  }
  if (o.steps < 0) throw UsageError("train: --steps must not be negative");
  if (o.steps == 0 && o.epochs < 1) throw UsageError("train: --epochs must be at least 1");
}

// Each range is written so that NaN, which fails every comparison, falls outside it.
void check_hyperparameters(const TrainOptions& o) {
  if (!(o.lr > 0.0f && std::isfinite(o.lr))) {
    throw UsageError("optimizer: --lr must be positive and finite, got " + std::to_string(o.lr));
  }
  if (!(o.momentum >= 0.0f && o.momentum < 1.0f)) {
    throw UsageError("optimizer: --momentum must be in [0, 1), got " + std::to_string(o.momentum));
  }
  if (!(o.weight_decay >= 0.0f && std::isfinite(o.weight_decay))) {
    throw UsageError("optimizer: --weight-decay must be non-negative and finite, got " +
                     std::to_string(o.weight_decay));
  }
}

// A forward pass as `precision` runs it: under autocast for the guard's lifetime (amp-*), on the
// input cast to the parameters' 16-bit dtype (fp16, bf16), with the logits in f32 for the loss.
class PrecisionForward {
 public:
  explicit PrecisionForward(Precision precision) : precision_(precision) {
    if (is_autocast(precision)) autocast_.emplace(compute_dtype(precision));
  }
  Tensor logits(Module& model, const Tensor& inputs) const {
    const bool half = keeps_master_weights(precision_) && is_floating(inputs.dtype());
    return model.call(half ? cast(inputs, compute_dtype(precision_)) : inputs, "");
  }

 private:
  Precision precision_;
  std::optional<AutocastGuard> autocast_;
};

}  // namespace

float default_lr(std::string_view optimizer) {
  return optimizer == "adamw" ? 1e-3f : 0.1f;
}

float default_weight_decay(std::string_view optimizer) {
  return optimizer == "adamw" ? 1e-2f : 0.0f;
}

std::unique_ptr<Optimizer> make_optimizer(const TrainOptions& options, const Module& model,
                                          NamedParameters masters) {
  return make_optimizer(options, model.named_parameters(), std::move(masters), {});
}

std::unique_ptr<Optimizer> make_optimizer(const TrainOptions& options, NamedParameters parameters,
                                          NamedParameters masters, std::vector<Tensor> gradients) {
  check_hyperparameters(options);
  if (options.optimizer == "sgd") {
    ops::SgdOptions sgd;
    sgd.lr = options.lr;
    sgd.momentum = options.momentum;
    sgd.weight_decay = options.weight_decay;
    return std::make_unique<SGD>(std::move(parameters), sgd, std::move(masters),
                                 std::move(gradients));
  }
  if (options.optimizer == "adamw") {
    ops::AdamWOptions adamw;
    adamw.lr = options.lr;
    adamw.weight_decay = options.weight_decay;
    return std::make_unique<AdamW>(std::move(parameters), adamw, std::move(masters),
                                   std::move(gradients));
  }
  throw UsageError("unknown optimizer '" + options.optimizer + "' (expected sgd or adamw)");
}

data::LoaderOptions train_loader_options(const TrainOptions& options,
                                         const DataParallel* parallel) {
  data::LoaderOptions loader;
  loader.batch_size = options.batch;
  loader.seed = options.seed;
  loader.drop_last = true;
  loader.device = options.device;
  if (parallel) {
    loader.shards = parallel->world_size();
    loader.shard = parallel->rank();
  }
  return loader;
}

TrainOptions resolve_model(TrainOptions options) {
  if (!options.transformer) options.transformer = zoo_transformer(options.model);
  if (!options.transformer) {
    if (options.seq_len != 0) {
      throw UsageError("--seq-len is for transformers; " + options.model + " takes images");
    }
    return options;
  }
  const std::int64_t context = options.transformer->context;
  if (options.seq_len < 0 || options.seq_len > context) {
    throw UsageError("--seq-len must be in [1, " + std::to_string(context) + "] for " +
                     options.model + ", got " + std::to_string(options.seq_len));
  }
  if (options.seq_len == 0) options.seq_len = context;
  return options;
}

data::Dataset shapes_only_dataset(const TrainOptions& options, std::int64_t samples) {
  data::Dataset d;
  d.n = samples;
  if (options.transformer) {
    d.seq_len = options.seq_len;
    d.vocab = options.transformer->vocab;
  }
  return d;
}

Learner make_learner(const TrainOptions& options) {
  Learner learner;
  learner.precision = options.precision;
  learner.model = options.transformer ? make_transformer(*options.transformer, options.device)
                                      : make_model(options.model, options.device);
  if (options.checkpoint.kind != CheckpointPolicy::Kind::none) {
    checkpoint_target(*learner.model).set_checkpoint(options.checkpoint);
  }
  NamedParameters masters;
  if (keeps_master_weights(options.precision)) {
    masters = learner.model->convert_parameters(compute_dtype(options.precision));
  }
  learner.optimizer = make_optimizer(options, *learner.model, std::move(masters));
  if (scales_loss(options.precision)) learner.scaler.emplace();
  if (options.data_parallel) learner.parallel = options.data_parallel(learner);
  return learner;
}

float train_step(Module& model, Optimizer& optimizer, const Tensor& images, const Tensor& labels,
                 Precision precision, GradScaler* scaler, DataParallel* parallel) {
  optimizer.zero_grad();
  Tensor loss;
  {
    PhaseGuard phase(Phase::forward);
    const PrecisionForward forward(precision);
    const Tensor logits = forward.logits(model, images);
    MemoryScope scope("loss");
    loss = cross_entropy(cast(logits, DType::f32), labels);
  }
  {
    PhaseGuard phase(Phase::backward);
    backward(scaler ? scaler->scale(loss) : loss);
    if (parallel) parallel->finish_backward();
  }
  {
    PhaseGuard phase(Phase::optimizer);
    if (scaler) {
      scaler->step(optimizer);
      scaler->update();
    } else {
      optimizer.step();
    }
    if (parallel) parallel->finish_step();
  }
  return loss.device().kind == DeviceKind::sim ? 0.0f : loss.item();
}

float train_step(Learner& learner, const Tensor& images, const Tensor& labels) {
  return train_step(*learner.model, *learner.optimizer, images, labels, learner.precision,
                    learner.scaler ? &*learner.scaler : nullptr, learner.parallel.get());
}

std::vector<std::pair<std::string, double>> parameter_norms(const Module& model) {
  std::vector<std::pair<std::string, double>> norms;
  for (const auto& [name, parameter] : model.named_parameters()) {
    double sum = 0.0;
    for (const float v : parameter.to_floats()) sum += static_cast<double>(v) * v;
    norms.emplace_back(name, std::sqrt(sum));
  }
  return norms;
}

double evaluate(Module& model, const data::Dataset& dataset, std::int64_t batch, Device device,
                Precision precision, DataParallel* parallel) {
  NoGradGuard no_grad;
  PhaseGuard phase(Phase::eval);
  model.set_training(false);
  data::LoaderOptions options;
  options.batch_size = batch;
  options.shuffle = false;
  options.device = device;
  if (parallel) {
    options.shards = parallel->world_size();
    options.shard = parallel->rank();
  }
  data::BatchLoader loader(dataset, options);
  std::int64_t correct = 0, seen = 0;
  for (std::int64_t i = 0; i < loader.batches_per_epoch(); ++i) {
    const data::Batch b = loader.next();
    if (b.labels.numel() == 0) continue;  // a shard of a last batch smaller than the world
    const Tensor logits = PrecisionForward(precision).logits(model, b.inputs);
    const ops::MaxResult best = ops::max(logits, 1);
    if (device.kind != DeviceKind::sim) {
      const std::vector<float> predicted = best.indices.to_floats();
      const std::vector<float> truth = b.labels.to_floats();
      for (std::size_t k = 0; k < truth.size(); ++k) correct += predicted[k] == truth[k];
    }
    seen += b.labels.numel();
  }
  model.set_training(true);
  if (parallel) {
    const std::vector<double> sums =
        parallel->sum_on_host({static_cast<double>(correct), static_cast<double>(seen)});
    return sums[1] > 0 ? sums[0] / sums[1] : 0.0;
  }
  return seen ? static_cast<double>(correct) / static_cast<double>(seen) : 0.0;
}

TrainSummary train(const TrainOptions& requested, const data::Dataset& train_set,
                   const data::Dataset& test_set,
                   const std::function<void(const Progress&)>& on_progress) {
  const TrainOptions options = resolve_model(requested);
  check_options(options);
  manual_seed(options.seed);
  Learner learner = make_learner(options);
  Module& model = *learner.model;
  DataParallel* parallel = learner.parallel.get();
  data::BatchLoader loader(train_set, train_loader_options(options, parallel));

  const std::int64_t per_epoch = loader.batches_per_epoch();
  const std::int64_t total = options.steps > 0 ? options.steps : per_epoch * options.epochs;
  const std::int64_t epochs = (total + per_epoch - 1) / per_epoch;
  TrainSummary summary;
  summary.parameters = model.parameter_count();
  const auto start = Clock::now();
  for (std::int64_t step = 1; step <= total; ++step) {
    const data::Batch batch = loader.next();
    summary.final_loss = train_step(learner, batch.inputs, batch.labels);
    if (parallel && options.device.kind != DeviceKind::sim) {
      summary.final_loss = static_cast<float>(parallel->sum_on_host({summary.final_loss})[0] /
                                              parallel->world_size());
    }
    summary.steps = step;
    if (on_progress) {
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      on_progress({(step - 1) / per_epoch + 1, epochs, step, total, summary.final_loss,
                   seconds > 0 ? static_cast<double>(step * options.batch) / seconds : 0.0});
    }
  }
  summary.seconds = std::chrono::duration<double>(Clock::now() - start).count();
  if (options.device.kind != DeviceKind::sim) summary.parameter_norms = parameter_norms(model);
  if (learner.scaler) {
    summary.loss_scale = learner.scaler->get_scale();
    summary.skipped_steps = learner.scaler->skipped_steps();
  }
  learner.optimizer->zero_grad();  // evaluation needs no gradients: free them first
  summary.samples_per_s =
      summary.seconds > 0 ? static_cast<double>(total * options.batch) / summary.seconds : 0.0;
  summary.test_accuracy =
      evaluate(model, test_set, options.batch, options.device, options.precision, parallel);
  return summary;
}

}  // namespace tally::nn
