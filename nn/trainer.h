// Training a zoo model on Fashion-MNIST: the step (forward, loss, backward, optimizer, each in
// its phase), evaluation, and the loop with progress reporting.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "nn/checkpoint_policy.h"
#include "nn/data/fashion_mnist.h"
#include "nn/data/loader.h"
#include "nn/data_parallel.h"
#include "nn/grad_scaler.h"
#include "nn/module.h"
#include "nn/optimizer.h"
#include "nn/precision.h"
#include "nn/transformer_config.h"

namespace tally::nn {

struct Learner;

struct TrainOptions {
  std::string model = "mlp";  // a zoo name (nn/models.h), or how to call `transformer`
  // The transformer to train, when the model is one: a zoo transformer's config or one read from
  // a config.json. Unset: `model` is an image model of the zoo.
  std::optional<TransformerConfig> transformer;
  std::int64_t seq_len = 0;  // a transformer's tokens per sample; 0: its context
  std::int64_t epochs = 1;
  std::int64_t steps = 0;  // when > 0, train this many steps instead of whole epochs
  std::int64_t batch = 128;
  std::string optimizer = "sgd";
  float lr = 0.1f;
  float momentum = 0.0f;
  float weight_decay = 0.0f;
  std::uint64_t seed = 0;
  Precision precision = Precision::fp32;
  CheckpointPolicy checkpoint;  // over the model's blocks (nn/checkpoint_policy.h)
  Device device = Device::cpu();
  // Data parallelism (distributed/): when set, make_learner calls it on the learner it has built
  // (model, optimizer and scaler in place) and keeps what it returns; it may replace the
  // optimizer (ZeRO-1). `batch` is then each rank's.
  std::function<std::shared_ptr<DataParallel>(Learner&)> data_parallel;
};

struct Progress {
  std::int64_t epoch = 0;  // from 1
  std::int64_t epochs = 0;
  std::int64_t step = 0;  // from 1, over the whole run
  std::int64_t total_steps = 0;
  float loss = 0.0f;           // averaged over the ranks under data parallelism
  double samples_per_s = 0.0;  // of the rank
};

struct TrainSummary {
  std::int64_t steps = 0;
  std::int64_t parameters = 0;
  double seconds = 0.0;  // training steps only, without evaluation
  double samples_per_s = 0.0;
  float final_loss = 0.0f;
  double test_accuracy = 0.0;
  float loss_scale = 1.0f;         // the loss scaler's scale after the last step (1 without one)
  std::int64_t skipped_steps = 0;  // steps the loss scaler skipped for an inf or NaN gradient
  // After the last step: parameter_norms() of the model; empty on sim, which holds no data.
  std::vector<std::pair<std::string, double>> parameter_norms;
};

// tally's defaults for `optimizer`: lr 0.1 for sgd and 0.001 for adamw, weight decay 0 for sgd
// and 0.01 for adamw (AdamW's are PyTorch's).
float default_lr(std::string_view optimizer);
float default_weight_decay(std::string_view optimizer);

// "sgd" or "adamw" over the model's parameters (updating `masters` instead when given, as
// Module::convert_parameters returns them). Unknown names, and an lr that is not positive and
// finite, a momentum outside [0, 1) or a weight decay that is negative or not finite, throw a
// one-line usage error.
std::unique_ptr<Optimizer> make_optimizer(const TrainOptions& options, const Module& model,
                                          NamedParameters masters = {});
// The same over any tensors: `parameters` with their paths, `masters` as above, and `gradients`
// as Optimizer's constructor takes them.
std::unique_ptr<Optimizer> make_optimizer(const TrainOptions& options, NamedParameters parameters,
                                          NamedParameters masters, std::vector<Tensor> gradients);

// What a training step updates, set up for options.precision: the model (for fp16 and bf16 with
// 16-bit parameters, its f32 originals handed to the optimizer as master weights), the optimizer,
// and for the fp16 arrangements a loss scaler with GradScaler's defaults.
struct Learner {
  std::shared_ptr<Module> model;
  std::unique_ptr<Optimizer> optimizer;
  Precision precision = Precision::fp32;
  std::optional<GradScaler> scaler;
  std::shared_ptr<DataParallel> parallel;  // null: one process
};

// options with `transformer` set from the zoo when `model` names a zoo transformer and no config
// was given, and seq_len resolved to the config's context when 0. A seq_len beyond the context,
// or one given for an image model, is a usage error.
TrainOptions resolve_model(TrainOptions options);

// Builds options.model on options.device, sets its checkpoint policy, converts it for
// options.precision and makes its optimizer, in the order train() does.
Learner make_learner(const TrainOptions& options);

// How train() draws its batches: options.batch samples at a time on options.device, shuffled
// with options.seed, the last partial batch dropped; under `parallel`, the rank's shard of each
// step's batch (data::LoaderOptions).
data::LoaderOptions train_loader_options(const TrainOptions& options,
                                         const DataParallel* parallel = nullptr);

// A dataset of `samples` samples without data, for sim: images, or windows of options.seq_len
// tokens for a transformer (after resolve_model).
data::Dataset shapes_only_dataset(const TrainOptions& options, std::int64_t samples);

// One training step; returns the loss (0 on sim). Gradients of the previous step are dropped
// first. The forward pass runs as `precision` says: under autocast for amp-*, on the input cast
// to 16 bits for fp16 and bf16 (whose logits are cast to f32 for the loss). With a scaler, the
// loss is scaled before backward and the step may be skipped. Under `parallel`, the gradients
// are reduced over the ranks before the optimizer runs, and the loss is the rank's.
float train_step(Module& model, Optimizer& optimizer, const Tensor& images, const Tensor& labels,
                 Precision precision = Precision::fp32, GradScaler* scaler = nullptr,
                 DataParallel* parallel = nullptr);
float train_step(Learner& learner, const Tensor& images, const Tensor& labels);

// The L2 norm of each of the model's named parameters, summed on the host in double.
std::vector<std::pair<std::string, double>> parameter_norms(const Module& model);

// Fraction of `dataset` classified correctly, in batches of `batch`, without gradients, in phase
// eval, with the forward pass of `precision`. Under `parallel`, each rank classifies its shard of
// every batch of batch * world_size samples and the counts are summed over the ranks.
double evaluate(Module& model, const data::Dataset& dataset, std::int64_t batch, Device device,
                Precision precision = Precision::fp32, DataParallel* parallel = nullptr);

TrainSummary train(const TrainOptions& options, const data::Dataset& train_set,
                   const data::Dataset& test_set,
                   const std::function<void(const Progress&)>& on_progress = {});

}  // namespace tally::nn
