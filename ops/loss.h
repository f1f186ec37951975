// Losses that reduce to a scalar mean, and their backward math.
#pragma once

#include "core/tensor.h"

namespace tally::ops {

struct CrossEntropyResult {
  Tensor loss;       // scalar, logits' dtype
  Tensor log_probs;  // log_softmax(logits, 1), what the backward needs (as PyTorch saves it)
};
// mean over rows of -log_softmax(logits)[row, labels[row]]; logits [N, C] floating, labels i64
// [N] in [0, C). One fused kernel computes the log-softmax and the loss. On cpu a label out of
// range throws naming its value and position; sim cannot see labels, and cuda does not read them
// back to the host (that would wait for the device every step): there the loss, and the
// gradient rows of such labels, are NaN.
CrossEntropyResult cross_entropy(const Tensor& logits, const Tensor& labels);
// (softmax(logits) - onehot(labels)) * grad / N, from the saved log-probabilities.
Tensor cross_entropy_backward(const Tensor& grad, const Tensor& log_probs, const Tensor& labels);

// mean((input - target)^2) over every element; input and target share shape and dtype.
Tensor mse_loss(const Tensor& input, const Tensor& target);
// The gradient of input: 2 (input - target) * grad / numel. The target's is its negation.
Tensor mse_loss_backward(const Tensor& grad, const Tensor& input, const Tensor& target);

}  // namespace tally::ops
