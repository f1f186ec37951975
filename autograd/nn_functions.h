// The differentiable API for the neural-network ops: normalisations, losses, lookups, dropout,
// concatenation and rotary position embedding. Each runs its op from ops/ and, when a gradient is
// needed, records a node keeping what PyTorch keeps for the same op's backward.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace tally {

Tensor softmax(const Tensor& x, std::int64_t dim);
Tensor log_softmax(const Tensor& x, std::int64_t dim);
// Mean over rows of -log_softmax(logits)[row, label]; logits [N, C], labels i64 [N].
Tensor cross_entropy(const Tensor& logits, const Tensor& labels);
// Mean of (input - target)^2; both get gradients when they require them.
Tensor mse_loss(const Tensor& input, const Tensor& target);
// Normalises over the last dimension; weight and bias ([D]) are optional.
Tensor layer_norm(const Tensor& x, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  float eps = 1e-5f);
// x * rsqrt(mean(x^2) + eps) * weight over the last dimension (Llama's RMSNorm); weight ([D]) is
// optional. In f32 under autocast, as layer_norm.
Tensor rms_norm(const Tensor& x, const Tensor& weight = Tensor(), float eps = 1e-6f);
// x [..., T, D] rotated by the position tables cos and sin (f32 [T, D/2], ops::rotary_tables), in
// Hugging Face Llama's rotate_half convention; the tables are buffers and get no gradient.
Tensor rotary_embedding(const Tensor& x, const Tensor& cos, const Tensor& sin);
// weight [V, D] rows gathered by i64 indices of any shape.
Tensor embedding(const Tensor& indices, const Tensor& weight);
// Zeroes elements with probability p and scales the rest by 1 / (1 - p), drawing from
// default_generator(); returns x itself, recording nothing, when not training or p is 0.
Tensor dropout(const Tensor& x, float p, bool training = true);
Tensor concat(const std::vector<Tensor>& tensors, std::int64_t dim);

}  // namespace tally
