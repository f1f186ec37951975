// checkpoint() against the same function run without it: gradients bit for bit (dropout inside
// the segment included, in f32 and under autocast), the generator left where an uncheckpointed
// run leaves it, the segment's internals gone between forward and backward and back in phase
// recompute, and a recomputation that differs from its forward reported with the segment's name.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "allocator/error.h"
#include "autograd/autocast.h"
#include "autograd/checkpoint.h"
#include "autograd/engine.h"
#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "autograd/variable.h"
#include "core/device_registry.h"
#include "core/generator.h"
#include "ops/elementwise.h"
#include "ops/factory.h"

namespace tally {
namespace {

constexpr std::int64_t kRows = 16, kWidth = 32;  // every tensor below a whole number of blocks

Tensor parameter(Shape shape, std::uint64_t seed) {
  manual_seed(seed);
  Tensor p = ops::randn(std::move(shape));
  p.storage()->retag(Tag::parameter);
  return set_requires_grad(p);
}

struct Net {
  Tensor w1 = parameter({kWidth, kWidth}, 1), b1 = parameter({kWidth}, 2);
  Tensor w2 = parameter({kWidth, kWidth}, 3), b2 = parameter({kWidth}, 4);
  std::vector<Tensor> parameters() const { return {w1, b1, w2, b2}; }
  // A residual block with dropout: x + linear(dropout(relu(linear(x)))).
  Tensor block(const Tensor& x) const {
    return add(x, linear(dropout(relu(linear(x, w1, b1)), 0.25f), w2, b2));
  }
};

struct Grads {
  std::vector<std::vector<float>> grads;  // x's, then each parameter's
  PhiloxState generator;
};

Grads run(bool checkpointed, bool x_needs_grad, std::optional<DType> autocast = {}) {
  Net net;
  manual_seed(7);
  Tensor x = ops::randn({kRows, kWidth});
  // Under autocast the block's residual add needs x in the autocast dtype too.
  if (autocast) x = ops::cast(x, *autocast);
  if (x_needs_grad) set_requires_grad(x);
  Tensor loss;
  {
    std::optional<AutocastGuard> guard;
    if (autocast) guard.emplace(*autocast);
    const auto segment = [&](const std::vector<Tensor>& in) { return net.block(in[0]); };
    const Tensor y = checkpointed ? checkpoint(segment, {x}, "block") : segment({x});
    loss = sum(mul(cast(y, DType::f32), cast(y, DType::f32)));
  }
  backward(loss);
  Grads r{{}, default_generator().state()};
  if (x_needs_grad) r.grads.push_back(grad(x).to_floats());
  for (const Tensor& p : net.parameters()) r.grads.push_back(grad(p).to_floats());
  return r;
}

void expect_bit_identical(const Grads& a, const Grads& b) {
  ASSERT_EQ(a.grads.size(), b.grads.size());
  for (std::size_t i = 0; i < a.grads.size(); ++i) {
    ASSERT_EQ(a.grads[i].size(), b.grads[i].size());
    EXPECT_EQ(std::memcmp(a.grads[i].data(), b.grads[i].data(), a.grads[i].size() * 4), 0)
        << "gradient " << i;
  }
  EXPECT_EQ(a.generator.seed, b.generator.seed);
  EXPECT_EQ(a.generator.offset, b.generator.offset);
}

TEST(Checkpoint, GradientsAreBitIdenticalWithDropoutInsideTheSegment) {
  const Grads plain = run(false, true), checkpointed = run(true, true);
  expect_bit_identical(plain, checkpointed);
  // x's normals took a block per two elements and the dropout mask one per four, once: the
  // recomputation drew them again and put the stream back.
  EXPECT_EQ(plain.generator.offset, kRows * kWidth / 2 + kRows * kWidth / 4);
}

TEST(Checkpoint, ParametersGetGradientsWhenNoInputNeedsOne) {
  const Grads plain = run(false, false), checkpointed = run(true, false);
  ASSERT_EQ(checkpointed.grads.size(), 4u);
  expect_bit_identical(plain, checkpointed);
}

TEST(Checkpoint, GradientsAreBitIdenticalUnderAutocast) {
  for (const DType dtype : {DType::f16, DType::bf16}) {
    expect_bit_identical(run(false, true, dtype), run(true, true, dtype));
  }
}

TEST(Checkpoint, KeepsOnlyTheInputBetweenForwardAndBackwardAndRecomputesInBackward) {
  const auto allocator = configure_device(Device::cpu(), {});
  allocator->set_recording(true);
  Net net;
  Tensor x = ops::randn({kRows, kWidth}, Device::cpu(), Tag::other);
  set_requires_grad(x);
  const auto activation = [&] { return allocator->stats().of(Tag::activation).allocated_bytes; };
  const std::int64_t row = kRows * kWidth * 4;  // one [kRows, kWidth] f32 tensor
  {
    const Tensor y = net.block(x);
    // Saved: the first linear's input (x, tagged other, stays other), relu's output, the dropout
    // mask (1 byte per element) and the second linear's input.
    EXPECT_EQ(activation().current, 2 * row + kRows * kWidth);
  }
  EXPECT_EQ(activation().current, 0);
  Tensor y;
  {
    const Tensor h = mul(x, 1.0f);  // a temporary input, which the segment keeps as an activation
    y = checkpoint([&](const std::vector<Tensor>& in) { return net.block(in[0]); }, {h}, "block");
  }
  EXPECT_EQ(activation().current, row);
  allocator->reset_peak();
  backward(sum(y));
  // Recomputed: the same three saved tensors, and the kept input, at once.
  EXPECT_EQ(activation().peak, row + 2 * row + kRows * kWidth);
  std::size_t recomputed = 0;
  for (const Event& e : allocator->trace().events) {
    if (e.phase == Phase::recompute && e.action == Action::alloc) ++recomputed;
  }
  EXPECT_GT(recomputed, 0u);
  EXPECT_EQ(activation().current, 0);
}

TEST(Checkpoint, ARecomputationThatDiffersFromItsForwardNamesTheSegment) {
  Net net;
  Tensor x = ops::randn({kRows, kWidth});
  set_requires_grad(x);
  std::int64_t rows = kRows;  // state the segment reads, changed before backward
  const Tensor y =
      checkpoint([&](const std::vector<Tensor>& in) { return net.block(slice(in[0], 0, 0, rows)); },
                 {x}, "blocks.3");
  rows = kRows / 2;
  try {
    backward(sum(y));
    FAIL() << "no error";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("segment 'blocks.3' recomputed differently"),
              std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("f32[16, 32] in forward, is f32[8, 32]"),
              std::string::npos)
        << e.what();
  }
}

TEST(Checkpoint, WithoutGradModeTheSegmentSimplyRuns) {
  Net net;
  const Tensor x = ops::randn({kRows, kWidth});
  NoGradGuard no_grad;
  const Tensor y =
      checkpoint([&](const std::vector<Tensor>& in) { return net.block(in[0]); }, {x}, "block");
  EXPECT_FALSE(requires_grad(y));
}

}  // namespace
}  // namespace tally
