// What a GPT-2 block keeps for backward, to the byte, against Korthikanti et al. 2022 ("Reducing
// Activation Recomputation in Large Transformer Models"), Eq. 1: sbh(34 + 5as/h) bytes per layer
// for 16-bit activations, 1-byte dropout masks and no recomputation. tally keeps exactly those
// tensors plus what the paper leaves out: each LayerNorm's f32 mean and reciprocal standard
// deviation, 8 bytes per row, so 16sb per block. Without dropout, the three masks (2sbh + as^2b)
// and the attention dropout's output (2as^2b) are not kept: 32sbh + 2as^2b + 16sb.
// A Llama block (no dropout, grouped-query attention) keeps 16sbh + 8sbi + 2as^2b + 8sb: the
// input of each RMSNorm (2sbh each) with its f32 reciprocal RMS (4sb each), the input shared by
// q, k and v (2sbh), q after rotary, k and v repeated to every head (2sbh each), the attention
// weights (2as^2b), the o_proj input (2sbh), the input shared by gate and up (2sbh), and the MLP's
// gate, silu(gate), up and their product (2sbi each, i the intermediate width). Rotary saves
// nothing: its tables are buffers.
// A block's bytes are measured as the difference between the activation bytes live at the end of
// the forward pass of a model with three blocks and of the same model with two.
#include <gtest/gtest.h>

#include "core/device_registry.h"
#include "core/generator.h"
#include "nn/transformer.h"
#include "nn/transformer_config.h"

namespace tally::nn {
namespace {

struct Shape4 {
  std::int64_t s, b, h, a;
};

std::int64_t forward_activation_bytes(TransformerConfig config, const Shape4& x,
                                      std::int64_t layers) {
  const Device sim = Device::parse("sim:cuda");
  config.layers = layers;
  const auto allocator = configure_device(sim, {});
  manual_seed(0);
  const auto model = make_transformer(config, sim);
  model->convert_parameters(DType::bf16);
  const Tensor tokens = Tensor::empty({x.b, x.s}, DType::i64, sim);
  const Tensor logits = model->call(tokens, "");
  const std::int64_t bytes = allocator->stats().of(Tag::activation).requested_bytes.current;
  configure_device(sim, {});
  return bytes;
}

std::int64_t block_bytes(const TransformerConfig& config, const Shape4& x) {
  return forward_activation_bytes(config, x, 3) - forward_activation_bytes(config, x, 2);
}

std::int64_t measured_block_bytes(float dropout, const Shape4& x) {
  TransformerConfig config = *zoo_transformer("gpt2-124m");
  config.context = x.s;
  config.vocab = 512;
  config.width = x.h;
  config.heads = config.kv_heads = x.a;
  config.head_dim = x.h / x.a;
  config.intermediate = 4 * x.h;
  config.embedding_dropout = config.attention_dropout = config.residual_dropout = dropout;
  return block_bytes(config, x);
}

class BlockActivations : public ::testing::TestWithParam<Shape4> {};

TEST_P(BlockActivations, OfAGpt2BlockAreKorthikantisEquationOnePlusNormStatistics) {
  const auto [s, b, h, a] = GetParam();
  const std::int64_t paper = s * b * h * 34 + 5 * a * s * s * b;
  EXPECT_EQ(measured_block_bytes(0.1f, GetParam()), paper + 16 * s * b);
  EXPECT_EQ(measured_block_bytes(0.0f, GetParam()),
            32 * s * b * h + 2 * a * s * s * b + 16 * s * b);
}

TEST_P(BlockActivations, OfALlamaBlockAreItsSavedTensors) {
  const auto [s, b, h, a] = GetParam();
  TransformerConfig config = *zoo_transformer("llama-tiny");
  config.context = s;
  config.vocab = 512;
  config.width = h;
  config.heads = a;
  config.kv_heads = a % 4 == 0 ? a / 4 : a;
  config.head_dim = h / a;
  config.intermediate = 3 * h + 8;
  const std::int64_t i = config.intermediate;
  EXPECT_EQ(block_bytes(config, GetParam()),
            16 * s * b * h + 8 * s * b * i + 2 * a * s * s * b + 8 * s * b);
}

INSTANTIATE_TEST_SUITE_P(Shapes, BlockActivations,
                         ::testing::Values(Shape4{1024, 8, 768, 12}, Shape4{2048, 1, 1600, 25},
                                           Shape4{512, 4, 1024, 16}, Shape4{128, 2, 64, 4}),
                         [](const auto& info) {
                           const Shape4& x = info.param;
                           return "s" + std::to_string(x.s) + "_b" + std::to_string(x.b) + "_h" +
                                  std::to_string(x.h) + "_a" + std::to_string(x.a);
                         });

}  // namespace
}  // namespace tally::nn
