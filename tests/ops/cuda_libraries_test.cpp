// The CUDA-free half of the cuDNN convolution choice: where cuDNN's algorithm enums end, which
// algorithms are exact, and that asking for exact algorithms makes a different problem, on
// cuda's log and on sim:cuda alike.
#include <gtest/gtest.h>

#include <utility>

#include "core/device_registry.h"
#include "ops/conv2d.h"
#include "ops/cuda_libraries.h"
#include "ops/sim_libraries.h"

namespace tally::ops {
namespace {

// The names themselves are checked against cudnn.h at compile time (ops/conv2d_cuda.cu); here,
// the edges of each pass's enum: its last value has a name, the values past either end none.
TEST(ConvAlgorithmNames, AreAQuestionMarkOutsideEachPasssEnum) {
  // cudnn.h: 8 forward, 6 backward-data and 7 backward-filter algorithms.
  for (const auto& [pass, count] :
       {std::pair{ConvPass::forward, 8}, std::pair{ConvPass::backward_data, 6},
        std::pair{ConvPass::backward_filter, 7}}) {
    SCOPED_TRACE(conv_pass_name(pass));
    EXPECT_NE(conv_algorithm_name(pass, 0), "?");
    EXPECT_NE(conv_algorithm_name(pass, count - 1), "?");
    EXPECT_EQ(conv_algorithm_name(pass, count), "?");
    EXPECT_EQ(conv_algorithm_name(pass, -1), "?");
  }
}

TEST(ConvAlgorithmNames, ExactMeansNeitherFftNorWinograd) {
  // cudnn.h: forward 0-3 sum directly, 4-7 are FFT, FFT_TILING, WINOGRAD, WINOGRAD_NONFUSED.
  for (int a = 0; a < 8; ++a) EXPECT_EQ(conv_algorithm_exact(ConvPass::forward, a), a < 4) << a;
  // Backward data: 0 and 1 direct; 2-5 FFT, FFT_TILING, WINOGRAD, WINOGRAD_NONFUSED.
  for (int a = 0; a < 6; ++a) {
    EXPECT_EQ(conv_algorithm_exact(ConvPass::backward_data, a), a < 2) << a;
  }
  // Backward filter: 0, 1 and 3 direct; 2 FFT, 4 WINOGRAD, 5 WINOGRAD_NONFUSED, 6 FFT_TILING.
  for (int a = 0; a < 7; ++a) {
    EXPECT_EQ(conv_algorithm_exact(ConvPass::backward_filter, a), a == 0 || a == 1 || a == 3) << a;
  }
  EXPECT_FALSE(conv_algorithm_exact(ConvPass::forward, 8));
}

class ExactAlgorithms : public ::testing::Test {
 protected:
  void TearDown() override {
    set_cudnn_exact_algorithms(false);
    set_sim_conv_workspace({});
  }
};

TEST_F(ExactAlgorithms, AreOffByDefaultAndPartOfTheProblem) {
  EXPECT_FALSE(cudnn_exact_algorithms());
  const ConvAlgoRecord fastest =
      conv_problem(ConvPass::forward, 0, DType::f32, {2, 3, 8, 8}, {4, 3, 3, 3}, 1, 1);
  EXPECT_FALSE(fastest.exact);
  set_cudnn_exact_algorithms(true);
  const ConvAlgoRecord exact =
      conv_problem(ConvPass::forward, 0, DType::f32, {2, 3, 8, 8}, {4, 3, 3, 3}, 1, 1);
  EXPECT_TRUE(exact.exact);
  EXPECT_FALSE(exact.same_problem(fastest));
}

TEST_F(ExactAlgorithms, SimCudaTakesOnlyAChoiceMadeUnderTheSameSetting) {
  const Device sim = Device::parse("sim:cuda");
  AllocatorConfig config;
  config.record = true;
  configure_sim_device(sim, config, SimSettings::of(device_preset(kDefaultPreset)));
  ConvAlgoRecord fastest =
      conv_problem(ConvPass::forward, 0, DType::f32, {2, 3, 8, 8}, {4, 3, 3, 3}, 1, 1);
  fastest.algorithm = 6;  // WINOGRAD
  fastest.workspace_bytes = 4096;
  set_sim_conv_workspace({ConvWorkspacePolicy::recorded, {fastest}, "log.csv"});
  const Tensor x = Tensor::empty({2, 3, 8, 8}, DType::f32, sim);
  const Tensor w = Tensor::empty({4, 3, 3, 3}, DType::f32, sim);
  conv2d(x, w, Tensor(), 1, 1);
  EXPECT_EQ(sim_conv_counts().recorded, 1u);
  set_cudnn_exact_algorithms(true);
  conv2d(x, w, Tensor(), 1, 1);
  EXPECT_EQ(sim_conv_counts().recorded, 1u);
  EXPECT_EQ(sim_conv_counts().bounded, 1u);
}

}  // namespace
}  // namespace tally::ops
