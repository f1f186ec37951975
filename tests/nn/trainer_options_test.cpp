// make_optimizer refuses hyperparameters that would silently train wrongly, NaN included, for
// train and estimate alike; the tally command refuses them earlier, naming the flag.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <string>

#include "allocator/error.h"
#include "nn/models.h"
#include "nn/trainer.h"

namespace tally::nn {
namespace {

constexpr float kNan = std::numeric_limits<float>::quiet_NaN();
constexpr float kInf = std::numeric_limits<float>::infinity();

// The usage error make_optimizer throws for `options`, or "accepted".
std::string refusal(const TrainOptions& options) {
  const auto model = make_model("mlp");
  try {
    make_optimizer(options, *model);
  } catch (const Error& e) {
    EXPECT_EQ(e.kind(), ErrorKind::usage) << e.what();
    return e.what();
  }
  return "accepted";
}

TEST(MakeOptimizer, RefusesAnLrThatIsNotPositiveAndFinite) {
  for (const std::string optimizer : {"sgd", "adamw"}) {
    for (const float lr : {0.0f, -0.1f, kNan, kInf}) {
      TrainOptions o;
      o.optimizer = optimizer;
      o.lr = lr;
      EXPECT_EQ(refusal(o).rfind("optimizer: --lr must be positive and finite, got ", 0), 0u)
          << optimizer << " lr " << lr;
    }
  }
}

TEST(MakeOptimizer, RefusesAMomentumOutsideZeroToOne) {
  for (const float momentum : {1.0f, -0.1f, kNan, kInf, -kInf}) {
    TrainOptions o;
    o.momentum = momentum;
    EXPECT_EQ(refusal(o).rfind("optimizer: --momentum must be in [0, 1), got ", 0), 0u) << momentum;
  }
}

TEST(MakeOptimizer, RefusesANegativeOrNonFiniteWeightDecay) {
  for (const float decay : {-0.1f, kNan, kInf}) {
    TrainOptions o;
    o.optimizer = "adamw";
    o.weight_decay = decay;
    EXPECT_EQ(
        refusal(o).rfind("optimizer: --weight-decay must be non-negative and finite, got ", 0), 0u)
        << decay;
  }
}

TEST(MakeOptimizer, AcceptsTheEdgesOfEachRange) {
  TrainOptions o;
  o.lr = std::numeric_limits<float>::min();
  o.momentum = std::nextafter(1.0f, 0.0f);
  o.weight_decay = 0.0f;
  EXPECT_EQ(refusal(o), "accepted");
  o.momentum = 0.0f;
  o.weight_decay = 1e6f;
  EXPECT_EQ(refusal(o), "accepted");
}

}  // namespace
}  // namespace tally::nn
