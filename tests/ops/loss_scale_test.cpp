// unscale_and_check_: gradients divided by the loss scale in place, and one flag raised when any
// element is inf or NaN (before scaling, or once scaled and stored) and left alone otherwise.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <initializer_list>
#include <limits>
#include <string>
#include <vector>

#include "allocator/error.h"
#include "ops/factory.h"
#include "ops/loss_scale.h"
#include "tests/ops/expect_error.h"

namespace tally {
namespace {

constexpr float kInf = std::numeric_limits<float>::infinity();
constexpr float kNaN = std::numeric_limits<float>::quiet_NaN();

Tensor values(std::vector<float> v, DType dtype = DType::f32) {
  const auto n = static_cast<std::int64_t>(v.size());
  return Tensor::from_values(v, {n}, dtype);
}

using testing::expect_error;

TEST(LossScale, FiniteValuesAreScaledExactlyAndTheFlagIsLeftAlone) {
  const std::vector<Tensor> grads{values({2.0f, -4.0f, 0.5f, 3e30f}),
                                  values({65536.0f, 0.0f, -1.0f})};
  const Tensor found_inf = ops::zeros({1});
  ops::unscale_and_check_(grads, 0.25f, found_inf);
  EXPECT_EQ(grads[0].to_floats(), (std::vector<float>{0.5f, -1.0f, 0.125f, 7.5e29f}));
  EXPECT_EQ(grads[1].to_floats(), (std::vector<float>{16384.0f, 0.0f, -0.25f}));
  EXPECT_EQ(found_inf.item(), 0.0f);

  // A flag already raised by an earlier call stays raised: one flag gathers several calls.
  const Tensor raised = ops::full({}, 1.0f);
  ops::unscale_and_check_(grads, 2.0f, raised);
  EXPECT_EQ(raised.item(), 1.0f);
  EXPECT_EQ(grads[1].to_floats(), (std::vector<float>{32768.0f, 0.0f, -0.5f}));
}

TEST(LossScale, AnInfOrANaNInAnyTensorRaisesTheFlag) {
  for (const float bad : {kInf, -kInf, kNaN}) {
    const std::vector<Tensor> grads{values({1.0f, 2.0f}), values({4.0f, bad, 8.0f}),
                                    values({16.0f})};
    const Tensor found_inf = ops::zeros({1});
    ops::unscale_and_check_(grads, 0.5f, found_inf);
    EXPECT_EQ(found_inf.item(), 1.0f) << bad;
    // Every tensor is still scaled, the non-finite one included.
    EXPECT_EQ(grads[0].to_floats(), (std::vector<float>{0.5f, 1.0f}));
    EXPECT_EQ(grads[2].to_floats(), (std::vector<float>{8.0f}));
    const std::vector<float> second = grads[1].to_floats();
    EXPECT_EQ(second[0], 2.0f);
    EXPECT_EQ(second[2], 4.0f);
  }
}

TEST(LossScale, SixteenBitTensorsAreScaledInPlaceAndTheirOverflowCounts) {
  const Tensor half = values({1024.0f, -3.0f, 0.5f}, DType::f16);
  const Tensor brain = values({256.0f, 6.0f}, DType::bf16);
  const Tensor found_inf = ops::zeros({1});
  ops::unscale_and_check_(std::vector<Tensor>{half, brain}, 0.5f, found_inf);
  EXPECT_EQ(half.dtype(), DType::f16);
  EXPECT_EQ(half.to_floats(), (std::vector<float>{512.0f, -1.5f, 0.25f}));
  EXPECT_EQ(brain.to_floats(), (std::vector<float>{128.0f, 3.0f}));
  EXPECT_EQ(found_inf.item(), 0.0f);

  // 60000 * 2 is finite in float but overflows f16 once stored.
  const Tensor large = values({60000.0f}, DType::f16);
  ops::unscale_and_check_(std::vector<Tensor>{large}, 2.0f, found_inf);
  EXPECT_EQ(found_inf.item(), 1.0f);
  EXPECT_TRUE(std::isinf(large.item()));

  const Tensor nan_half = values({1.0f, kNaN}, DType::f16);
  const Tensor flag = ops::zeros({1});
  ops::unscale_and_check_(std::vector<Tensor>{nan_half}, 0.5f, flag);
  EXPECT_EQ(flag.item(), 1.0f);
}

// With inv_scale 1 (16-bit gradients that stay scaled for an optimizer with master weights) the
// tensors are only read: an f16 NaN keeps its payload, which a store would make the canonical
// 0x7e00, and still raises the flag.
TEST(LossScale, AnInverseScaleOfOneOnlyChecks) {
  const Tensor half = values({1.0f, 0.0f, -3.0f}, DType::f16);
  half.data<Half>()[1].bits = 0x7c01;  // a NaN with payload 1
  const Tensor found_inf = ops::zeros({1});
  ops::unscale_and_check_(std::vector<Tensor>{half}, 1.0f, found_inf);
  EXPECT_EQ(found_inf.item(), 1.0f);
  EXPECT_EQ(half.data<Half>()[0].bits, 0x3c00);
  EXPECT_EQ(half.data<Half>()[1].bits, 0x7c01);
  EXPECT_EQ(half.data<Half>()[2].bits, 0xc200);

  const Tensor finite = values({65504.0f, -0.5f}, DType::f16);
  const Tensor flag = ops::zeros({1});
  ops::unscale_and_check_(std::vector<Tensor>{finite}, 1.0f, flag);
  EXPECT_EQ(flag.item(), 0.0f);
  EXPECT_EQ(finite.to_floats(), (std::vector<float>{65504.0f, -0.5f}));
}

TEST(LossScale, NoTensorsAndEmptyTensorsLeaveTheFlagAlone) {
  const Tensor found_inf = ops::zeros({1});
  ops::unscale_and_check_({}, 0.5f, found_inf);
  ops::unscale_and_check_(std::vector<Tensor>{ops::zeros({0, 3})}, 0.5f, found_inf);
  EXPECT_EQ(found_inf.item(), 0.0f);
}

TEST(LossScale, SimRunsTheChecksAndNoKernel) {
  const Device sim = Device::parse("sim");
  const std::vector<Tensor> grads{Tensor::empty({4}, DType::f16, sim)};
  ops::unscale_and_check_(grads, 0.5f, Tensor::empty({1}, DType::f32, sim));
  expect_error([&] { ops::unscale_and_check_(grads, 0.5f, ops::zeros({1})); },
               {"unscale_and_check", "different devices", "on sim", "on cpu"});
}

TEST(LossScale, BadArgumentsAreRefused) {
  const std::vector<Tensor> grads{values({1.0f})};
  expect_error([&] { ops::unscale_and_check_(grads, 0.5f, ops::zeros({2})); },
               {"unscale_and_check", "found_inf", "f32[2]"});
  expect_error([&] { ops::unscale_and_check_(grads, 0.5f, ops::zeros({1}, DType::f16)); },
               {"unscale_and_check", "found_inf", "f16[1]"});
  expect_error([&] { ops::unscale_and_check_(grads, 0.5f, Tensor()); },
               {"unscale_and_check", "undefined"});
  expect_error(
      [&] {
        ops::unscale_and_check_(std::vector<Tensor>{ops::zeros({2}, DType::i32)}, 0.5f,
                                ops::zeros({1}));
      },
      {"unscale_and_check", "floating", "i32[2]"});
  expect_error(
      [&] {
        ops::unscale_and_check_(std::vector<Tensor>{ops::zeros({2, 3}).transpose(0, 1)}, 0.5f,
                                ops::zeros({1}));
      },
      {"unscale_and_check", "not contiguous"});
  // Nothing was scaled by the refused calls.
  EXPECT_EQ(grads[0].to_floats(), (std::vector<float>{1.0f}));
}

}  // namespace
}  // namespace tally
