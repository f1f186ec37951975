// Decoder-only transformers: GPT-2 and Llama-family models built from a TransformerConfig, with
// every part in a scope named as Hugging Face names it ("blocks.3.attn.c_attn", "lm_head").
//
// forward() takes i64 tokens [B, T] (T at most the config's context) and returns the logits
// flattened to [B * T, vocab], the form cross_entropy takes, as Hugging Face's loss flattens
// them. Attention is PyTorch's eager computation (autograd/attention.h), so that the memory of a
// step can be compared with PyTorch's tensor for tensor.
#pragma once

#include <memory>

#include "nn/module.h"
#include "nn/transformer_config.h"

namespace tally::nn {

// What every block of one forward pass shares: the causal mask for this sequence length and,
// for Llama, the rotary tables' rows for positions 0 .. T-1. The model sets it at the start of
// each forward; it lives on until the next one, so that a checkpointed block recomputed in
// backward sees the same tensors.
struct DecoderContext {
  Tensor mask;  // u8 [T, T], 1 above the diagonal
  Tensor cos;   // f32 [T, head_dim / 2] (Llama)
  Tensor sin;
};

// The whole model: embeddings, the Sequential "blocks" (what checkpoint policies count), the
// final norm and the LM head. Parameters are initialised as the families do (N(0, 0.02), GPT-2's
// residual projections N(0, 0.02 / sqrt(2 x layers)), zero biases, unit norms), drawn from the
// default generator.
std::shared_ptr<Module> make_transformer(const TransformerConfig& config,
                                         Device device = Device::cpu());

}  // namespace tally::nn
