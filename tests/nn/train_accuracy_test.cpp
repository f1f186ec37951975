// Training the zoo MLP for one epoch on Fashion-MNIST reaches the accuracy it should: a check
// that forward, backward, the optimizer and the data pipeline work together; and every precision
// arrangement trains mlp and cnn as well as fp32 does, within a point of test accuracy (16-bit
// rounding may move a few test images across a decision boundary, not a whole point of them, and
// a loss scaler that skipped or mis-scaled steps would cost far more). Labelled slow.
#include <gtest/gtest.h>

#include <filesystem>
#include <iostream>
#include <optional>
#include <string>

#include "nn/data/fashion_mnist.h"
#include "nn/trainer.h"

namespace tally {
namespace {

struct Splits {
  data::Dataset train, test;
};

// Fashion-MNIST's training and test splits, or nullopt when the data are not installed.
std::optional<Splits> fashion_mnist() {
  const auto dir = data::fashion_mnist_dir();
  if (!std::filesystem::exists(dir / "t10k-labels-idx1-ubyte.gz")) return std::nullopt;
  return Splits{data::load_fashion_mnist(data::Split::train, dir),
                data::load_fashion_mnist(data::Split::test, dir)};
}

#define SKIP_WITHOUT_FASHION_MNIST(splits)                                     \
  if (!splits) {                                                               \
    GTEST_SKIP() << "Fashion-MNIST not found in " << data::fashion_mnist_dir() \
                 << " (scripts/setup.sh installs dataset-fashion-mnist)";      \
  }

TEST(TrainAccuracy, MlpOneEpochSgdReachesEightyPercent) {
  const auto splits = fashion_mnist();
  SKIP_WITHOUT_FASHION_MNIST(splits);
  const data::Dataset& train_set = splits->train;
  const data::Dataset& test_set = splits->test;
  nn::TrainOptions options;
  options.model = "mlp";
  options.epochs = 1;
  options.batch = 128;
  options.optimizer = "sgd";
  options.lr = 0.1f;
  const nn::TrainSummary summary = nn::train(options, train_set, test_set);
  EXPECT_EQ(summary.steps, 60000 / 128);
  EXPECT_GE(summary.test_accuracy, 0.80);
  EXPECT_LT(summary.final_loss, 0.8f);
}

class PrecisionAccuracy : public ::testing::TestWithParam<std::string> {};

TEST_P(PrecisionAccuracy, EveryArrangementWithinOnePointOfFp32AfterOneEpoch) {
  const auto splits = fashion_mnist();
  SKIP_WITHOUT_FASHION_MNIST(splits);
  nn::TrainOptions options;
  options.model = GetParam();
  options.epochs = 1;
  options.batch = 128;
  options.optimizer = "sgd";
  options.lr = 0.1f;
  double fp32 = 0.0;
  for (const std::string& name : nn::precision_names()) {
    options.precision = nn::parse_precision(name);
    const nn::TrainSummary summary = nn::train(options, splits->train, splits->test);
    std::cout << options.model << ' ' << name << ": test accuracy " << summary.test_accuracy
              << ", final loss " << summary.final_loss << ", loss scale " << summary.loss_scale
              << ", skipped steps " << summary.skipped_steps << '\n';
    if (options.precision == nn::Precision::fp32) {
      fp32 = summary.test_accuracy;
      EXPECT_GE(fp32, 0.80) << options.model;
    }
    EXPECT_NEAR(summary.test_accuracy, fp32, 0.01) << options.model << ' ' << name;
  }
}

INSTANTIATE_TEST_SUITE_P(Models, PrecisionAccuracy, ::testing::Values("mlp", "cnn"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace tally
