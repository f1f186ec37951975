// Embedding lookup: rows of a [V, D] table gathered by i64 indices of any shape, and the
// backward that scatters the gradient's rows back into a zero [V, D] table.
#pragma once

#include "core/tensor.h"

namespace tally::ops {

// weight[indices] -> indices.shape + [D]. An index outside [0, V) throws naming its value and
// position (on devices with data: sim cannot see indices).
Tensor embedding(const Tensor& indices, const Tensor& weight);
// A zero [num_weights, D] tensor with each row of grad ([..., D]) added at its index; repeated
// indices accumulate (in f32 for 16-bit gradients).
Tensor embedding_backward(const Tensor& grad, const Tensor& indices, std::int64_t num_weights);

}  // namespace tally::ops
