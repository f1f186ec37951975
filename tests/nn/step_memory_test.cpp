// The memory of one training step, per tag, against figures worked out by hand from the shapes
// and the caching rules (every block here is under 1 MiB, so each is rounded up to 512 bytes and
// all of them share one 2 MiB small-pool segment); and no leaks once everything is destroyed.
#include <gtest/gtest.h>

#include "allocator/units.h"
#include "core/device_registry.h"
#include "core/generator.h"
#include "nn/layers.h"
#include "nn/optimizer.h"
#include "nn/trainer.h"
#include "ops/factory.h"

namespace tally {
namespace {

std::int64_t peak(const AllocatorStats& s, Tag tag) {
  return s.of(tag).allocated_bytes.peak;
}

TEST(StepMemory, OneMlpStepMatchesHandComputedFiguresPerTag) {
  const auto allocator = configure_device(Device::cpu(), {});
  manual_seed(3);
  {
    nn::Sequential model;
    model.add(std::make_shared<nn::Linear>(8, 16))
        .add(std::make_shared<nn::ReLU>())
        .add(std::make_shared<nn::Linear>(16, 4));
    ops::SgdOptions sgd;
    sgd.lr = 0.1f;
    sgd.momentum = 0.9f;
    nn::SGD optimizer(model.named_parameters(), sgd);
    const Tensor x = ops::randn({3, 8}, Device::cpu(), Tag::other);
    const Tensor labels = Tensor::from_values(std::vector<float>{0, 3, 1}, {3}, DType::i64);
    nn::train_step(model, optimizer, x, labels);

    const AllocatorStats s = allocator->stats();
    // Parameters: w1 [16, 8] 512 B, b1 [16] 64 B, w2 [4, 16] 256 B, b2 [4] 16 B: 848 bytes
    // asked for, four 512-byte blocks.
    EXPECT_EQ(s.of(Tag::parameter).requested_bytes.peak, 848);
    EXPECT_EQ(peak(s, Tag::parameter), 4 * 512);
    // One gradient and one momentum buffer per parameter, the same sizes.
    EXPECT_EQ(s.of(Tag::gradient).requested_bytes.peak, 848);
    EXPECT_EQ(peak(s, Tag::gradient), 4 * 512);
    EXPECT_EQ(peak(s, Tag::optimizer), 4 * 512);
    // Inputs: x [3, 8] f32 and labels [3] i64.
    EXPECT_EQ(peak(s, Tag::other), 2 * 512);
    // Saved for backward at once: the ReLU output [3, 16] and cross-entropy's log-probabilities
    // [3, 4]. (Linear saves its input, which is the ReLU output or x, and its weight.)
    EXPECT_EQ(peak(s, Tag::activation), 2 * 512);
    // Temporaries peak in the second Linear's backward: the loss scalar, the incoming gradient
    // [3, 4], and the three it makes (input [3, 16], weight [4, 16], bias [4]) before the
    // weight and bias gradients are handed to their parameters.
    EXPECT_EQ(peak(s, Tag::temporary), 5 * 512);
    EXPECT_EQ(peak(s, Tag::workspace), 0);
    // The whole step peaks in the optimizer: parameters, gradients, momentum, inputs and loss.
    EXPECT_EQ(s.total.allocated_bytes.peak, 4 * 512 * 3 + 2 * 512 + 512);
    EXPECT_EQ(s.reserved_bytes.peak, static_cast<std::int64_t>(2 * MiB));
  }
  // Model, optimizer and data gone: nothing is left allocated.
  const AllocatorStats after = allocator->stats();
  EXPECT_EQ(after.total.allocated_bytes.current, 0);
  EXPECT_EQ(after.total.requested_bytes.current, 0);
  for (Tag tag : kAllTags) EXPECT_EQ(after.of(tag).allocated_bytes.current, 0) << tag_name(tag);
  allocator->empty_cache();
  EXPECT_EQ(allocator->stats().reserved_bytes.current, 0);
}

TEST(StepMemory, TrainingAZooModelLeavesNothingAllocated) {
  const auto allocator = configure_device(Device::cpu(), {});
  data::Dataset tiny;
  tiny.n = 64;
  tiny.images.assign(64 * 784, 100);
  tiny.labels.assign(64, 0);
  for (std::int64_t i = 0; i < tiny.n; ++i) tiny.labels[i] = static_cast<std::uint8_t>(i % 10);
  for (const char* name : {"mlp", "cnn"}) {
    nn::TrainOptions options;
    options.model = name;
    options.steps = 2;
    options.batch = 16;
    options.optimizer = "adamw";
    options.lr = 1e-3f;
    const nn::TrainSummary summary = nn::train(options, tiny, tiny);
    EXPECT_EQ(summary.steps, 2);
    EXPECT_GT(allocator->stats().of(Tag::optimizer).allocated_bytes.peak, 0) << name;
    const AllocatorStats s = allocator->stats();
    EXPECT_EQ(s.total.allocated_bytes.current, 0) << name;
    for (Tag tag : kAllTags)
      EXPECT_EQ(s.of(tag).allocated_bytes.current, 0) << name << " " << tag_name(tag);
  }
}

}  // namespace
}  // namespace tally
