// Autocast against torch.autocast's policy: each op's output dtype under f16 and bf16, the cache of
// parameter copies (one copy per parameter per forward, tagged cast_cache, dropped when the
// outermost guard ends), and the gradients of a small network under autocast against the same
// network in f32.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <vector>

#include "allocator/error.h"
#include "autograd/autocast.h"
#include "autograd/conv_functions.h"
#include "autograd/engine.h"
#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "autograd/variable.h"
#include "core/device_registry.h"
#include "ops/elementwise.h"
#include "ops/factory.h"

namespace tally {
namespace {

Tensor random(Shape shape, std::uint64_t seed, DType dtype = DType::f32, float range = 1.0f) {
  std::vector<float> values(static_cast<std::size_t>(shape_numel(shape)));
  for (float& v : values) {
    seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
    v = (static_cast<float>(seed >> 40) / static_cast<float>(1 << 24) * 2.0f - 1.0f) * range;
  }
  return Tensor::from_values(values, std::move(shape), dtype);
}

Tensor parameter(Shape shape, std::uint64_t seed, float range = 0.5f) {
  Tensor p = random(std::move(shape), seed, DType::f32, range);
  p.storage()->retag(Tag::parameter);
  return set_requires_grad(p);
}

struct PolicyCase {
  std::string op;
  DType in;  // the input's dtype
  std::function<Tensor(const Tensor&)> run;
  bool lowered;  // allow-listed: runs in the autocast dtype; otherwise deny-listed (f32)
};

const Tensor kLabels = Tensor::from_values(std::vector<float>{1, 0, 2, 1}, {4}, DType::i64);

std::vector<PolicyCase> policy_cases() {
  const auto f32_in = DType::f32;
  return {
      {"matmul", f32_in,
       [](const Tensor& x) {
         return matmul(x, random({3, 5}, 1));
       },
       true},
      {"linear", f32_in,
       [](const Tensor& x) {
         return linear(x, random({2, 3}, 2), random({2}, 3));
       },
       true},
      {"conv2d", f32_in,
       [](const Tensor& x) {
         return conv2d(x.reshape({1, 1, 4, 3}), random({2, 1, 2, 2}, 4), random({2}, 5));
       },
       true},
      {"softmax", DType::f16, [](const Tensor& x) { return softmax(x, 1); }, false},
      {"log_softmax", DType::f16, [](const Tensor& x) { return log_softmax(x, 1); }, false},
      {"cross_entropy", DType::f16, [](const Tensor& x) { return cross_entropy(x, kLabels); },
       false},
      {"mse_loss", DType::f16,
       [](const Tensor& x) {
         return mse_loss(x, random({4, 3}, 6, DType::f16));
       },
       false},
      {"layer_norm", DType::f16, [](const Tensor& x) { return layer_norm(x); }, false},
      {"sum", DType::f16, [](const Tensor& x) { return sum(x); }, false},
      {"exp", DType::f16, [](const Tensor& x) { return exp(x); }, false},
      {"log", DType::f16, [](const Tensor& x) { return log(add(mul(x, x), 1.0f)); }, false},
  };
}

TEST(Autocast, EachOpRunsInThePolicysDtype) {
  for (const DType lower : {DType::f16, DType::bf16}) {
    for (const PolicyCase& c : policy_cases()) {
      const Tensor x = random({4, 3}, 7, c.in);
      EXPECT_EQ(c.run(x).dtype(), c.in) << c.op << " outside autocast";
      AutocastGuard autocast(lower);
      EXPECT_EQ(c.run(x).dtype(), c.lowered ? lower : DType::f32)
          << c.op << " under " << dtype_name(lower);
    }
  }
}

TEST(Autocast, OtherOpsFollowTheirInputs) {
  AutocastGuard autocast(DType::f16);
  for (const DType dtype : {DType::f32, DType::f16, DType::bf16}) {
    const Tensor x = random({4, 3}, 8, dtype);
    EXPECT_EQ(relu(x).dtype(), dtype);
    EXPECT_EQ(add(x, x).dtype(), dtype);
    EXPECT_EQ(mean(x).dtype(), dtype);  // not on PyTorch's f32 list, unlike sum
    EXPECT_EQ(max_pool2d(x.reshape({1, 1, 4, 3}), 2).dtype(), dtype);
  }
}

// A residual add of the f32 stream and a 16-bit branch, as autocast's transformer blocks make
// it: promoted to f32 as PyTorch promotes it, each gradient in its input's dtype.
TEST(Autocast, MixedFloatingBinaryOpsPromoteToF32) {
  for (const DType half : {DType::f16, DType::bf16}) {
    Tensor x = ops::full({3}, 1.0f);
    Tensor y = ops::cast(ops::full({3}, 0.333333f), half);
    set_requires_grad(x);
    set_requires_grad(y);
    const Tensor z = add(x, y);
    EXPECT_EQ(z.dtype(), DType::f32);
    EXPECT_EQ(z.to_floats()[0], 1.0f + y.to_floats()[0]);
    EXPECT_EQ(mul(y, x).dtype(), DType::f32);
    backward(sum(mul(z, 2.0f)));
    EXPECT_EQ(grad(x).dtype(), DType::f32);
    EXPECT_EQ(grad(y).dtype(), half);
    EXPECT_EQ(grad(y).to_floats(), std::vector<float>(3, 2.0f));
  }
}

TEST(Autocast, OnlyF16AndBf16AreAutocastDtypes) {
  EXPECT_THROW(AutocastGuard{DType::f32}, UsageError);
  EXPECT_THROW(AutocastGuard{DType::i64}, UsageError);
}

TEST(Autocast, NestedGuardsRestoreTheEnclosingDtype) {
  EXPECT_FALSE(autocast_dtype());
  {
    AutocastGuard outer(DType::f16);
    {
      AutocastGuard inner(DType::bf16);
      EXPECT_EQ(autocast_dtype(), DType::bf16);
    }
    EXPECT_EQ(autocast_dtype(), DType::f16);
  }
  EXPECT_FALSE(autocast_dtype());
}

class AutocastMemory : public ::testing::Test {
 protected:
  void SetUp() override {
    AllocatorConfig config;
    config.record = true;
    cpu_ = configure_device(Device::cpu(), config);
  }
  void TearDown() override { configure_device(Device::cpu(), {}); }

  std::int64_t cast_cache_bytes() const {
    return cpu_->stats().of(Tag::cast_cache).allocated_bytes.current;
  }
  std::int64_t cast_cache_allocations() const {
    std::int64_t n = 0;
    for (const Event& e : cpu_->trace().events) {
      n += e.action == Action::alloc && e.tag == Tag::cast_cache;
    }
    return n;
  }

  std::shared_ptr<DeviceAllocator> cpu_;
};

// A weight used twice in one forward is cast once; the copy (2 bytes an element, in one 512-byte
// block for these sizes) is tagged cast_cache and freed when the guard ends and nothing saved it.
TEST_F(AutocastMemory, AParameterIsCastOncePerForwardAndTheCopyIsFreedAfterIt) {
  const Tensor w = parameter({3, 3}, 9);
  const Tensor x = random({2, 3}, 10);
  {
    NoGradGuard no_grad;
    AutocastGuard autocast(DType::f16);
    const Tensor y = linear(linear(x, w), w);
    EXPECT_EQ(y.dtype(), DType::f16);
    EXPECT_EQ(autocast_cache_size(), 1u);
    EXPECT_EQ(cast_cache_allocations(), 1);
    EXPECT_EQ(cast_cache_bytes(), 512);
  }
  EXPECT_EQ(autocast_cache_size(), 0u);
  EXPECT_EQ(cast_cache_bytes(), 0);
  {
    NoGradGuard no_grad;
    AutocastGuard autocast(DType::f16);
    linear(x, w);
  }
  EXPECT_EQ(cast_cache_allocations(), 2);  // a new forward casts again
}

// A copy that backward needs (the second layer's weight, to reach the first layer) lives on
// until that backward has run; one it does not need (the first layer's: its input needs no
// gradient) is freed when the forward ends.
TEST_F(AutocastMemory, CopiesSavedForBackwardLiveUntilBackward) {
  const Tensor w1 = parameter({4, 3}, 11), w2 = parameter({2, 4}, 12);
  const Tensor x = random({5, 3}, 13);
  Tensor loss;
  {
    AutocastGuard autocast(DType::f16);
    loss = sum(linear(relu(linear(x, w1)), w2));
    EXPECT_EQ(cast_cache_bytes(), 2 * 512);
  }
  EXPECT_EQ(cast_cache_bytes(), 512);
  backward(loss);
  EXPECT_EQ(cast_cache_bytes(), 0);
  EXPECT_EQ(grad(w1).dtype(), DType::f32);  // gradients reach the f32 parameters as f32
  EXPECT_EQ(grad(w2).dtype(), DType::f32);
}

// The gradients of linear -> relu -> linear -> cross_entropy under autocast against f32. Each
// 16-bit rounding (of inputs, weights and each op's output) has relative error at most u (2^-11
// for f16, 2^-8 for bf16), and a gradient element passes through about ten of them, so it is
// within 10 u of the f32 one relative to the largest gradient element; 16 u is allowed.
TEST(AutocastGradients, MatchF32WithinTheRoundingOf16Bits) {
  const Tensor x = random({8, 6}, 14);
  const Tensor labels =
      Tensor::from_values(std::vector<float>{0, 1, 2, 3, 0, 1, 2, 3}, {8}, DType::i64);
  const auto gradients = [&](std::optional<DType> lower) {
    const Tensor w1 = parameter({5, 6}, 15), b1 = parameter({5}, 16);
    const Tensor w2 = parameter({4, 5}, 17), b2 = parameter({4}, 18);
    Tensor loss;
    {
      std::optional<AutocastGuard> autocast;
      if (lower) autocast.emplace(*lower);
      loss = cross_entropy(linear(relu(linear(x, w1, b1)), w2, b2), labels);
      EXPECT_EQ(loss.dtype(), DType::f32);
    }
    backward(loss);
    std::vector<std::vector<float>> out;
    for (const Tensor& p : {w1, b1, w2, b2}) out.push_back(grad(p).to_floats());
    return out;
  };
  const auto want = gradients(std::nullopt);
  for (const auto& [lower, u] :
       {std::pair{DType::f16, std::ldexp(1.0, -11)}, std::pair{DType::bf16, std::ldexp(1.0, -8)}}) {
    const auto got = gradients(lower);
    double scale = 0, worst = 0;
    for (const auto& g : want) {
      for (const float v : g) scale = std::max(scale, double(std::abs(v)));
    }
    for (std::size_t p = 0; p < want.size(); ++p) {
      for (std::size_t i = 0; i < want[p].size(); ++i) {
        worst = std::max(worst, std::abs(double(got[p][i]) - want[p][i]) / scale);
      }
    }
    EXPECT_LT(worst, 16 * u) << dtype_name(lower);
    EXPECT_GT(worst, 0.0) << dtype_name(lower) << ": no rounding at all, so nothing ran in 16 bits";
  }
}

}  // namespace
}  // namespace tally
