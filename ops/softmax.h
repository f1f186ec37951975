// Softmax and log-softmax along one dimension, and their backward math. Both subtract the line's
// maximum before exponentiating, so large logits do not overflow; 16-bit inputs are computed in
// float. Inputs may have any strides; outputs are contiguous, tagged temporary.
#pragma once

#include "core/tensor.h"

namespace tally::ops {

Tensor softmax(const Tensor& x, std::int64_t dim);
Tensor log_softmax(const Tensor& x, std::int64_t dim);
// The gradient of x given grad of y = softmax(x, dim): y * (grad - sum(grad * y, dim)).
Tensor softmax_backward(const Tensor& grad, const Tensor& y, std::int64_t dim);
// The gradient of x given grad of y = log_softmax(x, dim): grad - exp(y) * sum(grad, dim).
Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, std::int64_t dim);

}  // namespace tally::ops
