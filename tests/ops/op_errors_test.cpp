// Bad arguments to ops throw tally::Error whose message names the op and what was wrong
// with which shapes.
#include <gtest/gtest.h>

#include <functional>
#include <initializer_list>
#include <string>

#include "allocator/error.h"
#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "ops/elementwise.h"
#include "ops/factory.h"
#include "ops/rotary.h"
#include "tests/ops/expect_error.h"

namespace tally {
namespace {

using testing::expect_error;

Tensor labels(std::vector<float> values) {
  const auto n = static_cast<std::int64_t>(values.size());
  return Tensor::from_values(values, {n}, DType::i64);
}

TEST(OpErrors, MatmulAndAddNameTheShapesThatDoNotFit) {
  expect_error(
      [] {
        matmul(ops::randn({2, 3}), ops::randn({4, 5}));
      },
      {"matmul", "f32[2, 3]", "f32[4, 5]", "do not multiply"});
  expect_error(
      [] {
        matmul(ops::randn({2, 3, 4}), ops::randn({3, 4, 5}));
      },
      {"matmul", "f32[2, 3, 4]", "f32[3, 4, 5]"});
  expect_error(
      [] {
        add(ops::randn({2, 3}), ops::randn({4}));
      },
      {"add", "[2, 3]", "[4]", "do not broadcast"});
  expect_error([] { linear(ops::randn({2, 3}), ops::randn({5, 4})); }, {"matmul", "f32[2, 3]"});
}

TEST(OpErrors, MixedDtypesAndDevicesAreRefused) {
  // The ops refuse mixed dtypes; the differentiable API promotes them (autocast_test.cpp).
  expect_error([] { ops::add(ops::randn({2}), ops::zeros({2}, DType::f16)); },
               {"add", "dtype mismatch", "f32[2]", "f16[2]"});
  expect_error(
      [] {
        matmul(ops::zeros({2, 2}, DType::i32), ops::zeros({2, 2}, DType::i32));
      },
      {"matmul", "floating", "i32[2, 2]"});
  const Tensor on_sim = Tensor::empty({2}, DType::f32, Device::parse("sim"));
  expect_error([&] { mul(ops::randn({2}), on_sim); },
               {"mul", "different devices", "on cpu", "on sim"});
}

TEST(OpErrors, CrossEntropyNamesAnOutOfRangeLabelAndItsPosition) {
  const Tensor logits = ops::randn({3, 5});
  expect_error(
      [&] {
        cross_entropy(logits, labels({0, 5, 1}));
      },
      {"cross_entropy", "label 5", "position 1", "[0, 5)"});
  expect_error(
      [&] {
        cross_entropy(logits, labels({0, 1, -1}));
      },
      {"cross_entropy", "label -1", "position 2"});
}

TEST(OpErrors, CrossEntropyNamesMismatchedShapes) {
  expect_error(
      [] {
        cross_entropy(ops::randn({5, 10}), ops::zeros({4}, DType::i64));
      },
      {"cross_entropy", "i64[4]", "f32[5, 10]"});
  expect_error(
      [] {
        cross_entropy(ops::randn({5, 10}), ops::zeros({5}));
      },
      {"cross_entropy", "f32[5]"});
  expect_error(
      [] {
        cross_entropy(ops::randn({2, 5, 10}), ops::zeros({2}, DType::i64));
      },
      {"cross_entropy", "f32[2, 5, 10]"});
}

TEST(OpErrors, MseLossNeedsEqualShapes) {
  expect_error(
      [] {
        mse_loss(ops::randn({2, 3}), ops::randn({3, 2}));
      },
      {"mse_loss", "f32[2, 3]", "f32[3, 2]"});
  expect_error([] { mse_loss(ops::randn({2}), ops::zeros({2}, DType::f16)); },
               {"mse_loss", "f16[2]"});
}

TEST(OpErrors, EmbeddingNamesAnOutOfRangeIndex) {
  const Tensor weight = ops::randn({4, 3});
  expect_error(
      [&] {
        embedding(labels({1, 3, 9}), weight);
      },
      {"embedding", "index 9", "position 2", "[0, 4)"});
  expect_error([&] { embedding(ops::zeros({2}), weight); }, {"embedding", "f32[2]"});
  expect_error([] { embedding(labels({0}), ops::randn({4})); }, {"embedding", "f32[4]"});
}

TEST(OpErrors, LayerNormNeedsParametersOfTheLastDimension) {
  const Tensor x = ops::randn({2, 6});
  expect_error([&] { layer_norm(x, ops::ones({5})); }, {"layer_norm", "weight f32[5]", "[2, 6]"});
  expect_error(
      [&] {
        layer_norm(x, ops::ones({6}), ops::zeros({6, 1}));
      },
      {"layer_norm", "bias f32[6, 1]"});
}

TEST(OpErrors, RmsNormNeedsAWeightOfTheLastDimension) {
  expect_error(
      [] {
        rms_norm(ops::randn({2, 6}), ops::ones({5}));
      },
      {"rms_norm", "weight f32[5]", "[2, 6]"});
  expect_error(
      [] {
        rms_norm(ops::randn({2, 6}), ops::ones({6}, DType::f16));
      },
      {"rms_norm", "f16[6]"});
  expect_error([] { rms_norm(ops::zeros({2, 6}, DType::i64)); }, {"rms_norm", "i64[2, 6]"});
}

TEST(OpErrors, RotaryNamesTheShapesThatDoNotFit) {
  const Tensor tables = ops::randn({3, 2});
  expect_error(
      [&] {
        rotary_embedding(ops::randn({3, 5}), tables, tables);
      },
      {"rotary", "f32[3, 5]", "D even"});
  expect_error([&] { rotary_embedding(ops::randn({4}), tables, tables); }, {"rotary", "f32[4]"});
  expect_error(
      [&] {
        rotary_embedding(ops::randn({2, 4}), tables, tables);
      },
      {"rotary", "cos f32[3, 2]", "f32[2, 2]", "f32[2, 4]"});
  expect_error(
      [&] {
        rotary_embedding(ops::randn({3, 4}), tables, ops::zeros({3, 2}, DType::f16));
      },
      {"rotary", "sin f16[3, 2]"});
  expect_error(
      [&] {
        rotary_embedding(ops::randn({3, 4}), ops::randn({2, 3}).transpose(0, 1), tables);
      },
      {"rotary", "cos f32[3, 2]", "contiguous"});
  expect_error([] { ops::rotary_tables(4, 7, 1e4, Device::cpu(), Tag::other); },
               {"rotary_tables", "head_dim 7"});
  expect_error([] { silu(ops::zeros({2}, DType::i64)); }, {"silu", "i64[2]"});
}

TEST(OpErrors, ConcatNamesTheShapesThatDiffer) {
  expect_error(
      [] {
        concat({ops::randn({2, 3}), ops::randn({2, 4})}, 0);
      },
      {"concat", "f32[2, 3]", "f32[2, 4]", "dimension 0"});
  expect_error([] { concat({ops::randn({2, 3}), ops::randn({2})}, 0); }, {"concat", "f32[2]"});
  expect_error(
      [] {
        concat({ops::randn({2}), ops::zeros({2}, DType::f16)}, 0);
      },
      {"concat", "f16[2]"});
  expect_error([] { concat({}, 0); }, {"concat"});
  expect_error([] { concat({ops::randn({2})}, 1); }, {"concat", "dimension 1"});
}

TEST(OpErrors, SoftmaxNamesABadDimension) {
  expect_error([] { softmax(ops::randn({2, 3}), 2); }, {"softmax", "[2, 3]"});
  expect_error([] { log_softmax(ops::zeros({3}, DType::i64), 0); }, {"log_softmax", "i64"});
}

}  // namespace
}  // namespace tally
