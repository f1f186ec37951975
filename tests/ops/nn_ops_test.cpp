// The nn ops across devices and dtypes: forward and backward request exactly the same memory on
// sim as on the cpu (the same sizes and tags in the same order: what lets a sim step predict a
// real one), and 16-bit inputs, computed in float, agree with f32 to 16-bit precision.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <tuple>

#include "autograd/autocast.h"
#include "autograd/engine.h"
#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "autograd/variable.h"
#include "core/device_registry.h"
#include "core/generator.h"
#include "ops/elementwise.h"
#include "ops/factory.h"
#include "ops/reduce.h"
#include "ops/rotary.h"

namespace tally {
namespace {

struct InputSpec {
  Shape shape;
  bool floating = true;  // normal values, differentiable; else i64 0, 1, 2, ...
};

struct NnCase {
  const char* name;
  std::vector<InputSpec> inputs;
  std::function<Tensor(std::vector<Tensor>&)> step;
};

std::vector<NnCase> nn_cases() {
  const bool ints = false;
  return {
      {"softmax", {{{4, 6}}}, [](auto& in) { return softmax(in[0], 0); }},
      {"log_softmax", {{{4, 6}}}, [](auto& in) { return log_softmax(transpose(in[0], 0, 1), -1); }},
      {"cross_entropy",
       {{{4, 6}}, {{4}, ints}},
       [](auto& in) { return cross_entropy(in[0], in[1]); }},
      {"mse_loss", {{{3, 5}}, {{3, 5}}}, [](auto& in) { return mse_loss(in[0], in[1]); }},
      {"layer_norm",
       {{{3, 8}}, {{8}}, {{8}}},
       [](auto& in) { return layer_norm(in[0], in[1], in[2]); }},
      {"embedding", {{{2, 3}, ints}, {{6, 4}}}, [](auto& in) { return embedding(in[0], in[1]); }},
      {"dropout", {{{6, 7}}}, [](auto& in) { return dropout(in[0], 0.5f); }},
      {"concat", {{{2, 3}}, {{2, 5}}, {{2, 1}}}, [](auto& in) { return concat(in, 1); }},
      {"rms_norm", {{{3, 8}}, {{8}}}, [](auto& in) { return rms_norm(in[0], in[1]); }},
      {"silu", {{{4, 6}}}, [](auto& in) { return silu(in[0]); }},
      // A strided view, as attention's heads are: rotated without a contiguous copy.
      {"rotary_embedding",
       {{{2, 4, 6}}},
       [](auto& in) {
         const ops::RotaryTables t = ops::rotary_tables(2, 6, 1e4, in[0].device(), Tag::other);
         return rotary_embedding(transpose(in[0], 0, 1), t.cos, t.sin);
       }},
  };
}

// The case's inputs on `device`, floating ones in `dtype`, drawn from `seed`.
std::vector<Tensor> make_inputs(const NnCase& c, Device device, DType dtype, std::uint64_t seed) {
  manual_seed(seed);
  std::vector<Tensor> inputs;
  for (const InputSpec& spec : c.inputs) {
    if (!spec.floating) {
      inputs.push_back(ops::arange(shape_numel(spec.shape), DType::i64, device).view(spec.shape));
      continue;
    }
    inputs.push_back(ops::cast(ops::randn(spec.shape, device), dtype));
    set_requires_grad(inputs.back());
  }
  return inputs;
}

// Runs the step and backpropagates its summed output.
Tensor run_with_backward(const NnCase& c, std::vector<Tensor>& inputs) {
  const Tensor y = c.step(inputs);
  backward(y.numel() == 1 ? y : sum(y));
  return y;
}

using Request = std::tuple<Action, std::uint64_t, std::optional<Tag>>;

// The block requests of a forward and backward on `device`, inputs excluded.
std::vector<Request> requests(const NnCase& c, Device device) {
  std::vector<Tensor> inputs = make_inputs(c, device, DType::f32, 1);
  const auto allocator = device_allocator(device);
  allocator->clear_trace();
  allocator->set_recording(true);
  run_with_backward(c, inputs);
  allocator->set_recording(false);
  std::vector<Request> out;
  for (const Event& e : allocator->trace().events) {
    if (e.action == Action::alloc || e.action == Action::free || e.action == Action::retag) {
      out.emplace_back(e.action, e.requested, e.tag);
    }
  }
  allocator->clear_trace();
  return out;
}

TEST(NnOps, RequestTheSameBlocksOnSimAsOnCpu) {
  for (const NnCase& c : nn_cases()) {
    const std::vector<Request> cpu = requests(c, Device::cpu());
    EXPECT_FALSE(cpu.empty()) << c.name;
    EXPECT_EQ(cpu, requests(c, Device::parse("sim:cpu"))) << c.name;
  }
}

void expect_close(const Tensor& got, const Tensor& want, double tolerance,
                  const std::string& what) {
  ASSERT_EQ(got.shape(), want.shape()) << what;
  const std::vector<float> g = got.to_floats(), w = want.to_floats();
  for (std::size_t i = 0; i < g.size(); ++i) {
    ASSERT_LE(std::fabs(g[i] - w[i]), tolerance * std::max(1.0f, std::fabs(w[i])))
        << what << " element " << i << ": " << g[i] << " vs " << w[i];
  }
}

// A mean scales its sum: inf stays inf (inf * 0 would make it NaN), NaN stays NaN.
TEST(NnOps, MeanKeepsNonFiniteSums) {
  const Tensor x =
      Tensor::from_values(std::vector<float>{INFINITY, 1.0f, 2.0f, 3.0f, NAN, 5.0f}, {2, 3});
  const std::vector<float> rows = ops::mean(x, {1}).to_floats();
  EXPECT_EQ(rows[0], INFINITY);
  EXPECT_TRUE(std::isnan(rows[1]));
  EXPECT_FLOAT_EQ(ops::mean(x.slice(0, 0, 1).slice(1, 1, 3)).item(), 1.5f);
}

TEST(NnOps, SixteenBitInputsMatchF32) {
  for (const auto& [dtype, tolerance] : {std::pair{DType::f16, 1e-2}, {DType::bf16, 4e-2}}) {
    for (const NnCase& c : nn_cases()) {
      const std::string what = std::string(c.name) + " " + std::string(dtype_name(dtype));
      std::vector<Tensor> wide = make_inputs(c, Device::cpu(), DType::f32, 2);
      std::vector<Tensor> narrow = make_inputs(c, Device::cpu(), dtype, 2);
      // Compare against f32 inputs holding the same (rounded) values.
      for (std::size_t i = 0; i < wide.size(); ++i) {
        if (!requires_grad(wide[i])) continue;
        wide[i] = ops::cast(narrow[i].detach(), DType::f32);
        set_requires_grad(wide[i]);
      }
      manual_seed(3);  // the same dropout mask for both
      const Tensor want = run_with_backward(c, wide);
      manual_seed(3);
      const Tensor got = run_with_backward(c, narrow);
      EXPECT_EQ(got.dtype(), dtype) << what;
      expect_close(got, want, tolerance, what + " forward");
      for (std::size_t i = 0; i < wide.size(); ++i) {
        if (!requires_grad(wide[i])) continue;
        EXPECT_EQ(grad(narrow[i]).dtype(), dtype) << what;
        expect_close(grad(narrow[i]), grad(wide[i]), tolerance,
                     what + " gradient " + std::to_string(i));
      }
    }
  }
}

// Hugging Face Llama's tables: inv_freq and the angles t * inv_freq in f32, then their cosines and
// sines. At Llama 3's theta and positions in the thousands, f32 angles stray from exact ones by
// up to half a unit in their last place (~5e-4 rad here), so the two conventions tell apart.
TEST(NnOps, RotaryTablesTakeTheirAnglesInF32) {
  constexpr std::int64_t kPositions = 8192, kHeadDim = 128, kHalf = kHeadDim / 2;
  constexpr double kTheta = 500000.0;
  const ops::RotaryTables t =
      ops::rotary_tables(kPositions, kHeadDim, kTheta, Device::cpu(), Tag::other);
  ASSERT_EQ(t.cos.shape(), (Shape{kPositions, kHalf}));
  EXPECT_EQ(t.sin.dtype(), DType::f32);
  EXPECT_EQ(t.cos.tag(), Tag::other);
  const std::vector<float> cos = t.cos.to_floats(), sin = t.sin.to_floats();
  double from_f32_angles = 0, from_exact_angles = 0;
  for (std::int64_t i = 0; i < kHalf; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(kHeadDim);
    const float inv_freq = 1.0f / std::pow(static_cast<float>(kTheta), exponent);
    const double exact_inv_freq = std::pow(kTheta, -2.0 * static_cast<double>(i) / kHeadDim);
    for (std::int64_t p = 0; p < kPositions; ++p) {
      const double angle = static_cast<float>(p) * inv_freq;
      const double exact = static_cast<double>(p) * exact_inv_freq;
      const auto k = static_cast<std::size_t>(p * kHalf + i);
      from_f32_angles = std::max({from_f32_angles, std::fabs(cos[k] - std::cos(angle)),
                                  std::fabs(sin[k] - std::sin(angle))});
      from_exact_angles = std::max(from_exact_angles, std::fabs(cos[k] - std::cos(exact)));
    }
  }
  EXPECT_LE(from_f32_angles, 1e-6);  // f32 rounding of cos and sin alone
  EXPECT_GT(from_exact_angles, 1e-4);
}

// Deny-listed as layer_norm: 16-bit inputs are cast to f32, and the gradient flows back through
// the cast in x's dtype.
TEST(NnOps, RmsNormRunsInF32UnderAutocast) {
  Tensor x = ops::cast(ops::randn({3, 8}), DType::bf16);
  set_requires_grad(x);
  AutocastGuard autocast(DType::bf16);
  const Tensor y = rms_norm(x, ops::ones({8}));
  EXPECT_EQ(y.dtype(), DType::f32);
  backward(sum(y));
  EXPECT_EQ(grad(x).dtype(), DType::bf16);
}

TEST(NnOps, RotaryTablesOnSimAreOnlyAllocated) {
  const Device sim = Device::parse("sim:cuda");
  const ops::RotaryTables t = ops::rotary_tables(16, 8, 1e4, sim, Tag::other);
  EXPECT_EQ(t.cos.device(), sim);
  EXPECT_EQ(t.sin.shape(), (Shape{16, 4}));
  EXPECT_EQ(t.sin.tag(), Tag::other);
}

}  // namespace
}  // namespace tally
