// Training the zoo MLP for one epoch on Fashion-MNIST reaches the accuracy it should: a check
// that forward, backward, the optimizer and the data pipeline work together. Labelled slow.
#include <gtest/gtest.h>

#include <filesystem>

#include "nn/data/fashion_mnist.h"
#include "nn/trainer.h"

namespace tally {
namespace {

TEST(TrainAccuracy, MlpOneEpochSgdReachesEightyPercent) {
  const auto dir = data::fashion_mnist_dir();
  if (!std::filesystem::exists(dir / "t10k-labels-idx1-ubyte.gz")) {
    GTEST_SKIP() << "Fashion-MNIST not found in " << dir
                 << " (scripts/setup.sh installs dataset-fashion-mnist)";
  }
  const data::Dataset train_set = data::load_fashion_mnist(data::Split::train, dir);
  const data::Dataset test_set = data::load_fashion_mnist(data::Split::test, dir);
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

}  // namespace
}  // namespace tally
