#include "bench/step_fixture.h"

#include <random>
#include <vector>

#include "core/generator.h"
#include "core/tensor.h"
#include "nn/models.h"
#include "nn/trainer.h"
#include "nn/transformer_config.h"
#include "ops/factory.h"

namespace tally::bench {
namespace {

constexpr std::int64_t kClasses = 10;

}  // namespace

float StepFixture::step() {
  return nn::train_step(*model, *optimizer, images, labels);
}

StepFixture make_step_fixture(const std::string& model, std::int64_t batch, std::int64_t seq_len,
                              Device device, std::uint64_t seed,
                              const nn::CheckpointPolicy& checkpoint) {
  StepFixture f;
  manual_seed(seed);
  f.model = nn::make_model(model, device);
  if (checkpoint.kind != nn::CheckpointPolicy::Kind::none) {
    nn::checkpoint_target(*f.model).set_checkpoint(checkpoint);
  }
  nn::TrainOptions train;
  train.device = device;
  train.model = model;
  train.optimizer = "sgd";
  train.lr = 0.01f;
  train.batch = batch;
  f.optimizer = nn::make_optimizer(train, *f.model);

  // Fixed inputs reused every step: data loading is not part of the step being timed. Drawn on
  // the CPU, so that every device trains on the same values; tagged other, as a loader's batch is.
  std::mt19937_64 rng(seed);
  const auto draw = [&rng](std::int64_t count, std::int64_t classes) {
    std::uniform_int_distribution<int> pick(0, static_cast<int>(classes) - 1);
    std::vector<float> values(static_cast<std::size_t>(count));  // exact: classes < 2^24
    for (float& v : values) v = static_cast<float>(pick(rng));
    return values;
  };
  if (const auto transformer = nn::zoo_transformer(model)) {
    const std::int64_t tokens = batch * seq_len;
    f.images = Tensor::from_values(draw(tokens, transformer->vocab), {batch, seq_len}, DType::i64)
                   .to(device);
    f.labels =
        Tensor::from_values(draw(tokens, transformer->vocab), {tokens}, DType::i64).to(device);
  } else {
    f.images = ops::randn({batch, 1, 28, 28}, Device::cpu(), Tag::other).to(device);
    f.labels = Tensor::from_values(draw(batch, kClasses), {batch}, DType::i64).to(device);
  }
  return f;
}

}  // namespace tally::bench
