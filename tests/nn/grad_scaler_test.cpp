// nn::GradScaler against PyTorch's GradScaler semantics written out by hand: the scale's
// trajectory over a scripted run of good, inf and NaN steps; a skipped step leaving parameters
// and optimizer state bit-identical; the misuses PyTorch refuses; and an f16 activation that
// overflows on the CPU, as it would on a GPU, making a skipped step.
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <memory>
#include <vector>

#include "allocator/error.h"
#include "autograd/engine.h"
#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "autograd/variable.h"
#include "nn/grad_scaler.h"
#include "nn/optimizer.h"

namespace tally::nn {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNan = std::numeric_limits<float>::quiet_NaN();

// A parameter of four elements and its optimizer; each step's gradient is `g`, exactly (d/dp
// sum(p * g) = g), multiplied by the scale through the scaled loss.
struct ScaledRun {
  Tensor p;
  std::unique_ptr<Optimizer> optimizer;
  GradScaler scaler;

  ScaledRun(bool adamw, GradScalerOptions options) : scaler(options) {
    p = Tensor::from_values(std::vector<float>{0.5f, -1.0f, 2.0f, 0.25f}, {4}, DType::f32,
                            Tag::parameter);
    set_requires_grad(p);
    if (adamw) {
      optimizer = std::make_unique<AdamW>(NamedParameters{{"p", p}}, ops::AdamWOptions{});
    } else {
      ops::SgdOptions sgd;
      sgd.lr = 0.1f;
      sgd.momentum = 0.9f;
      optimizer = std::make_unique<SGD>(NamedParameters{{"p", p}}, sgd);
    }
  }

  // One training step with gradient g; returns whether the optimizer stepped.
  bool step(std::vector<float> g) {
    optimizer->zero_grad();
    backward(scaler.scale(sum(mul(p, Tensor::from_values(g, {4})))));
    const bool stepped = scaler.step(*optimizer);
    scaler.update();
    return stepped;
  }

  std::vector<std::uint32_t> bits() const {
    std::vector<std::uint32_t> out;
    for (const float v : p.to_floats()) out.push_back(std::bit_cast<std::uint32_t>(v));
    return out;
  }
};

const std::vector<float> kGood = {0.1f, -0.2f, 0.3f, -0.4f};
const std::vector<float> kWithInf = {0.1f, kInf, 0.3f, -0.4f};
const std::vector<float> kWithNan = {0.1f, -0.2f, kNan, -0.4f};

TEST(GradScaler, ScaleFollowsTheHandWrittenTrajectory) {
  GradScalerOptions options;
  options.growth_interval = 3;
  ScaledRun run(false, options);
  EXPECT_EQ(run.scaler.get_scale(), 65536.0f);
  struct Expected {
    const std::vector<float>* gradient;
    bool stepped;
    float scale;  // after update()
    std::int64_t tracker;
  };
  // Three good steps in a row double the scale; an inf or a NaN halves it and restarts the count.
  const std::vector<Expected> script = {
      {&kGood, true, 65536.0f, 1},     {&kGood, true, 65536.0f, 2},
      {&kGood, true, 131072.0f, 0},    {&kWithInf, false, 65536.0f, 0},
      {&kGood, true, 65536.0f, 1},     {&kGood, true, 65536.0f, 2},
      {&kWithNan, false, 32768.0f, 0}, {&kWithInf, false, 16384.0f, 0},
      {&kGood, true, 16384.0f, 1},     {&kGood, true, 16384.0f, 2},
      {&kGood, true, 32768.0f, 0},     {&kGood, true, 32768.0f, 1},
  };
  std::int64_t skipped = 0;
  for (std::size_t i = 0; i < script.size(); ++i) {
    EXPECT_EQ(run.step(*script[i].gradient), script[i].stepped) << "step " << i + 1;
    skipped += script[i].stepped ? 0 : 1;
    EXPECT_EQ(run.scaler.get_scale(), script[i].scale) << "step " << i + 1;
    EXPECT_EQ(run.scaler.growth_tracker(), script[i].tracker) << "step " << i + 1;
  }
  EXPECT_EQ(run.scaler.skipped_steps(), skipped);
}

TEST(GradScaler, DefaultsAreGradScalers) {
  GradScalerOptions defaults;
  EXPECT_EQ(defaults.init_scale, 65536.0f);
  EXPECT_EQ(defaults.growth_factor, 2.0f);
  EXPECT_EQ(defaults.backoff_factor, 0.5f);
  EXPECT_EQ(defaults.growth_interval, 2000);
}

TEST(GradScaler, TheScaleNeverGrowsToInfinity) {
  GradScalerOptions options;
  options.init_scale = std::ldexp(1.0f, 127);  // the largest power of two a float holds
  options.growth_interval = 1;
  ScaledRun run(false, options);
  run.step(kGood);
  EXPECT_EQ(run.scaler.get_scale(), std::ldexp(1.0f, 127));
  EXPECT_EQ(run.scaler.growth_tracker(), 0);
}

TEST(GradScaler, UnscaledGradientsAreTheTrueOnes) {
  ScaledRun run(false, {});
  backward(run.scaler.scale(sum(mul(run.p, Tensor::from_values(kGood, {4})))));
  EXPECT_EQ(grad(run.p).to_floats()[1], -0.2f * 65536.0f);
  run.scaler.unscale_(*run.optimizer);
  EXPECT_EQ(grad(run.p).to_floats(), kGood);  // dividing by a power of two is exact
}

// A skipped step changes nothing: the run with it ends bit for bit where the run without it
// does (AdamW's moments and step count included, which the next steps would show).
TEST(GradScaler, ASkippedStepLeavesParametersAndStateBitIdentical) {
  for (const bool adamw : {false, true}) {
    ScaledRun with_skips(adamw, {}), without(adamw, {});
    with_skips.step(kGood);
    without.step(kGood);
    const auto before = with_skips.bits();
    EXPECT_FALSE(with_skips.step(kWithInf));
    EXPECT_EQ(with_skips.bits(), before) << (adamw ? "adamw" : "sgd");
    EXPECT_FALSE(with_skips.step(kWithNan));
    EXPECT_EQ(with_skips.bits(), before) << (adamw ? "adamw" : "sgd");
    for (int i = 0; i < 3; ++i) {
      with_skips.step(kGood);
      without.step(kGood);
    }
    EXPECT_EQ(with_skips.bits(), without.bits()) << (adamw ? "adamw" : "sgd");
    EXPECT_EQ(with_skips.scaler.skipped_steps(), 2);
  }
}

TEST(GradScaler, RefusesWhatPyTorchRefuses) {
  ScaledRun run(false, {});
  backward(run.scaler.scale(sum(mul(run.p, Tensor::from_values(kGood, {4})))));
  EXPECT_THROW(run.scaler.update(), UsageError);  // no step yet
  run.scaler.unscale_(*run.optimizer);
  try {
    run.scaler.unscale_(*run.optimizer);
    FAIL() << "a second unscale_ in one step was accepted";
  } catch (const UsageError& e) {
    EXPECT_STREQ(e.what(),
                 "grad_scaler: unscale_() has already been called since the last update()");
  }
  EXPECT_TRUE(run.scaler.step(*run.optimizer));
  EXPECT_THROW(run.scaler.step(*run.optimizer), UsageError);
  run.scaler.update();
  EXPECT_NO_THROW(run.step(kGood));  // a new step may begin
}

TEST(GradScaler, RefusesOptionsOutOfRange) {
  const auto refused = [](auto change) {
    GradScalerOptions o;
    change(o);
    EXPECT_THROW(GradScaler{o}, UsageError);
  };
  refused([](GradScalerOptions& o) { o.init_scale = 0.0f; });
  refused([](GradScalerOptions& o) { o.init_scale = kInf; });
  refused([](GradScalerOptions& o) { o.init_scale = kNan; });
  refused([](GradScalerOptions& o) { o.growth_factor = 1.0f; });
  refused([](GradScalerOptions& o) { o.growth_factor = kNan; });
  refused([](GradScalerOptions& o) { o.backoff_factor = 1.0f; });
  refused([](GradScalerOptions& o) { o.backoff_factor = 0.0f; });
  refused([](GradScalerOptions& o) { o.backoff_factor = kNan; });
  refused([](GradScalerOptions& o) { o.growth_interval = 0; });
}

// 300 * 300 + 300 * 300 = 180000 overflows f16 (largest 65504): the CPU stores inf, as a GPU
// would, the loss and gradients follow, and the scaler skips the step and backs off.
TEST(GradScaler, AnF16ActivationThatOverflowsOnTheCpuMakesASkippedStep) {
  Tensor w = Tensor::from_values(std::vector<float>{300.0f, 300.0f, 1.0f, 1.0f}, {2, 2}, DType::f32,
                                 Tag::parameter);
  set_requires_grad(w);
  ops::SgdOptions sgd;
  sgd.lr = 0.1f;
  SGD optimizer(NamedParameters{{"w", w}}, sgd);
  GradScaler scaler;
  const Tensor x = Tensor::from_values(std::vector<float>{300.0f, 300.0f}, {1, 2}, DType::f16);
  const Tensor y = linear(x, cast(w, DType::f16));
  EXPECT_EQ(y.dtype(), DType::f16);
  EXPECT_EQ(y.to_floats()[0], kInf);
  EXPECT_EQ(y.to_floats()[1], 600.0f);
  const Tensor target = Tensor::from_values(std::vector<float>{0.0f, 0.0f}, {1, 2});
  backward(scaler.scale(mse_loss(cast(y, DType::f32), target)));
  const std::vector<float> before = w.to_floats();
  EXPECT_FALSE(scaler.step(optimizer));
  scaler.update();
  EXPECT_EQ(w.to_floats(), before);
  EXPECT_EQ(scaler.skipped_steps(), 1);
  EXPECT_EQ(scaler.get_scale(), 32768.0f);
}

}  // namespace
}  // namespace tally::nn
