// Dropout, randn and uniform on the Philox stream: reproducible from the seed, advancing the
// generator by the documented number of blocks, with the right statistics; and the constant
// factories.
#include <gtest/gtest.h>

#include <cmath>

#include "allocator/error.h"
#include "autograd/engine.h"
#include "autograd/nn_functions.h"
#include "autograd/variable.h"
#include "core/device_registry.h"
#include "core/generator.h"
#include "core/philox.h"
#include "ops/elementwise.h"
#include "ops/factory.h"

namespace tally {
namespace {

struct Moments {
  double mean = 0;
  double variance = 0;
};

Moments moments(const std::vector<float>& values) {
  Moments m;
  for (float v : values) m.mean += v;
  m.mean /= static_cast<double>(values.size());
  for (float v : values) m.variance += (v - m.mean) * (v - m.mean);
  m.variance /= static_cast<double>(values.size());
  return m;
}

TEST(Dropout, SameSeedGivesSameMaskAndOtherSeedsDiffer) {
  const Tensor x = ops::randn({64, 33});
  manual_seed(11);
  const std::vector<float> first = dropout(x, 0.5f).to_floats();
  manual_seed(11);
  const std::vector<float> again = dropout(x, 0.5f).to_floats();
  manual_seed(12);
  const std::vector<float> other = dropout(x, 0.5f).to_floats();
  EXPECT_EQ(first, again);
  EXPECT_NE(first, other);
}

TEST(Dropout, KeepsAboutOneMinusPAndScalesKeptElements) {
  constexpr float kP = 0.3f;
  manual_seed(5);
  const Tensor x = ops::randn({1 << 17});
  const std::vector<float> in = x.to_floats();
  const std::vector<float> out = dropout(x, kP).to_floats();
  std::int64_t kept = 0;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (out[i] == 0.0f) continue;
    ++kept;
    ASSERT_EQ(out[i], in[i] * (1.0f / (1.0f - kP))) << "element " << i;
  }
  EXPECT_NEAR(static_cast<double>(kept) / static_cast<double>(in.size()), 1.0 - kP, 0.005);
}

TEST(Dropout, MaskIsTheDocumentedPhiloxRule) {
  manual_seed(9);
  const Tensor x = ops::ones({3, 7});
  const PhiloxState start = default_generator().state();
  const std::vector<float> out = dropout(x, 0.5f).to_floats();
  for (std::uint64_t i = 0; i < out.size(); ++i) {
    const bool keep = philox_uniform_at(start.seed, start.offset, i) > 0.5f;
    EXPECT_EQ(out[i], keep ? 2.0f : 0.0f) << "element " << i;
  }
  // 21 uniforms take 6 blocks of four.
  EXPECT_EQ(default_generator().state().offset, start.offset + 6);
}

TEST(Dropout, BackwardIsMaskTimesScaleTimesGradient) {
  constexpr float kP = 0.25f;
  Tensor x = ops::randn({8, 16});
  set_requires_grad(x);
  const Tensor y = dropout(x, kP);
  const Tensor g = ops::randn({8, 16});
  backward(y, g);
  const std::vector<float> yv = y.to_floats(), gv = g.to_floats(), dx = grad(x).to_floats();
  for (std::size_t i = 0; i < yv.size(); ++i) {
    EXPECT_EQ(dx[i], yv[i] != 0.0f ? gv[i] * (1.0f / (1.0f - kP)) : 0.0f) << "element " << i;
  }
}

TEST(Dropout, SavesItsMaskAsAnActivation) {
  const auto allocator = device_allocator(Device::cpu());
  Tensor x = ops::randn({10, 10});
  set_requires_grad(x);
  const auto saved = [&] { return allocator->stats().of(Tag::activation).requested_bytes.current; };
  const std::int64_t before = saved();
  Tensor y = dropout(x, 0.5f);
  EXPECT_EQ(saved() - before, 100);  // one u8 per element
  y = Tensor();
  EXPECT_EQ(saved(), before);
}

TEST(Dropout, EvalModeAndZeroProbabilityReturnTheInputAndDrawNothing) {
  Tensor x = ops::randn({4, 4});
  set_requires_grad(x);
  const PhiloxState before = default_generator().state();
  const Tensor eval = dropout(x, 0.5f, false);
  const Tensor zero = dropout(x, 0.0f);
  EXPECT_EQ(eval.storage(), x.storage());
  EXPECT_EQ(zero.storage(), x.storage());
  EXPECT_TRUE(is_leaf(eval));
  EXPECT_EQ(default_generator().state().offset, before.offset);
}

TEST(Dropout, RejectsProbabilitiesOutsideZeroToOne) {
  const Tensor x = ops::ones({3});
  for (float p : {1.0f, -0.1f, 1.5f, NAN}) {
    try {
      dropout(x, p, false);
      ADD_FAILURE() << "p = " << p << " accepted";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("dropout"), std::string::npos) << e.what();
    }
  }
}

TEST(CausalMask, HidesEveryLaterPositionAndMaskedFillUsesIt) {
  const Tensor mask = ops::causal_mask(3);
  EXPECT_EQ(mask.dtype(), DType::u8);
  EXPECT_EQ(mask.to_floats(), (std::vector<float>{0, 1, 1, 0, 0, 1, 0, 0, 0}));
  const Tensor scores = Tensor::from_values(std::vector<float>(9, 2.0f), {3, 3});
  EXPECT_EQ(ops::masked_fill(scores, mask, -5.0f).to_floats(),
            (std::vector<float>{2, -5, -5, 2, 2, -5, 2, 2, 2}));
  EXPECT_THROW(ops::causal_mask(-1), Error);
}

TEST(Randn, IsReproducibleAndIsThePhiloxNormalStream) {
  manual_seed(3);
  const std::vector<float> a = ops::randn({5, 7}).to_floats();
  const PhiloxState after = default_generator().state();
  const std::vector<float> b = ops::randn({5, 7}).to_floats();
  manual_seed(3);
  EXPECT_EQ(ops::randn({5, 7}).to_floats(), a);
  EXPECT_NE(a, b);
  EXPECT_EQ(after.offset, 18u);  // 35 normals take 18 blocks of two
  for (std::uint64_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i], philox_normal_at(3, 0, i));
}

TEST(Randn, HasStandardNormalMoments) {
  manual_seed(1);
  const Moments m = moments(ops::randn({1 << 18}).to_floats());
  EXPECT_NEAR(m.mean, 0.0, 0.01);
  EXPECT_NEAR(m.variance, 1.0, 0.01);
}

TEST(Uniform, IsReproducibleBoundedAndHasUniformMoments) {
  manual_seed(4);
  const Tensor u = ops::uniform({1 << 18}, -2.0f, 6.0f);
  EXPECT_EQ(default_generator().state().offset, (1u << 18) / 4);
  const std::vector<float> values = u.to_floats();
  for (float v : values) {
    ASSERT_GT(v, -2.0f);
    ASSERT_LE(v, 6.0f);
  }
  const Moments m = moments(values);
  EXPECT_NEAR(m.mean, 2.0, 0.02);
  EXPECT_NEAR(m.variance, 64.0 / 12.0, 0.03);
  manual_seed(4);
  EXPECT_EQ(ops::uniform({1 << 18}, -2.0f, 6.0f).to_floats(), values);
  EXPECT_THROW(ops::uniform({2}, 1.0f, 0.0f), Error);
}

TEST(RandomOps, AdvanceTheGeneratorOnSimAsOnCpu) {
  const Device sim = Device::parse("sim");
  manual_seed(8);
  ops::randn({9}, sim);
  ops::uniform({9}, 0.0f, 1.0f, sim);
  dropout(ops::zeros({9}, DType::f32, sim), 0.5f);
  const PhiloxState on_sim = default_generator().state();
  manual_seed(8);
  ops::randn({9});
  ops::uniform({9}, 0.0f, 1.0f);
  dropout(ops::zeros({9}), 0.5f);
  EXPECT_EQ(default_generator().state().offset, on_sim.offset);
  EXPECT_EQ(on_sim.offset, 5u + 3u + 3u);
}

TEST(Factory, FillsConstantsAndRangesWithTheRequestedTypeAndTag) {
  const Tensor z = ops::zeros({2, 3}, DType::bf16, Device::cpu(), Tag::parameter);
  EXPECT_EQ(z.dtype(), DType::bf16);
  EXPECT_EQ(z.tag(), Tag::parameter);
  EXPECT_EQ(z.to_floats(), std::vector<float>(6, 0.0f));
  EXPECT_EQ(ops::ones({4}, DType::i32).to_floats(), std::vector<float>(4, 1.0f));
  EXPECT_EQ(ops::full({2, 2}, 2.5f, DType::f16).to_floats(), std::vector<float>(4, 2.5f));
  EXPECT_EQ(ops::randn({2}, Device::cpu(), Tag::parameter).tag(), Tag::parameter);

  const Tensor r = ops::arange(5);
  EXPECT_EQ(r.dtype(), DType::i64);
  EXPECT_EQ(r.to_floats(), (std::vector<float>{0, 1, 2, 3, 4}));
  EXPECT_EQ(ops::arange(3, DType::f32).to_floats(), (std::vector<float>{0, 1, 2}));
  // Past 2^24, where float would round, integer ranges stay exact.
  const Tensor big = ops::arange((1 << 24) + 2);
  EXPECT_EQ(big.data<std::int64_t>()[(1 << 24) + 1], (1 << 24) + 1);
  EXPECT_EQ(ops::arange(0).numel(), 0);
  EXPECT_THROW(ops::arange(-1), Error);
}

}  // namespace
}  // namespace tally
