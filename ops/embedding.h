// Embedding lookup: rows of a [V, D] table gathered by i64 indices of any shape, and the
// backward that scatters the gradient's rows back into a zero [V, D] table.
#pragma once

#include "core/tensor.h"

namespace tally::ops {

// weight[indices] -> indices.shape + [D]. On cpu an index outside [0, V) throws naming its value
// and position. sim cannot see indices, and cuda does not read them back to the host (that would
// wait for the device every step): there such an index gives a zero row, and its gradient is
// dropped.
Tensor embedding(const Tensor& indices, const Tensor& weight);
// A zero [num_weights, D] tensor with each row of grad ([..., D]) added at its index; repeated
// indices accumulate (in f32 for 16-bit gradients).
Tensor embedding_backward(const Tensor& grad, const Tensor& indices, std::int64_t num_weights);

}  // namespace tally::ops
