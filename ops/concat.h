// Concatenation along one dimension, and its backward (views of the gradient, one per input).
#pragma once

#include <vector>

#include "core/tensor.h"

namespace tally::ops {

// Tensors of one dtype and device whose shapes agree except along dim; at least one.
Tensor concat(const std::vector<Tensor>& tensors, std::int64_t dim);
// The slices of grad along dim with the given extents, in order: views, no copy.
std::vector<Tensor> concat_backward(const Tensor& grad, const std::vector<std::int64_t>& sizes,
                                    std::int64_t dim);

}  // namespace tally::ops
