// parameter_norms(): each named parameter's L2 norm, summed in double on the host, against norms
// worked out by hand.
#include <gtest/gtest.h>

#include <cmath>

#include "nn/layers.h"
#include "nn/module.h"
#include "nn/trainer.h"

namespace tally {
namespace {

TEST(ParameterNorms, AreEachParametersL2NormSummedInDouble) {
  nn::Sequential model;
  model.add(std::make_shared<nn::Linear>(3, 2));
  const auto parameters = model.named_parameters();
  ASSERT_EQ(parameters.size(), 2u);
  // A weight of six 3e20s: its squares overflow f32, not double.
  const Tensor& weight = parameters[0].second;
  for (std::int64_t i = 0; i < weight.numel(); ++i) weight.data<float>()[i] = 3e20f;
  const Tensor& bias = parameters[1].second;
  bias.data<float>()[0] = 3.0f;
  bias.data<float>()[1] = -4.0f;

  const auto norms = nn::parameter_norms(model);
  ASSERT_EQ(norms.size(), 2u);
  EXPECT_EQ(norms[0].first, "0.weight");
  EXPECT_DOUBLE_EQ(norms[0].second, static_cast<double>(3e20f) * std::sqrt(6.0));
  EXPECT_EQ(norms[1].first, "0.bias");
  EXPECT_DOUBLE_EQ(norms[1].second, 5.0);
}

}  // namespace
}  // namespace tally
