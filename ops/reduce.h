// Reductions over dimensions.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace tally::ops {

// Sum over `dims` (all dimensions when empty); keepdim keeps them as size 1.
Tensor sum(const Tensor& x, std::vector<std::int64_t> dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, std::vector<std::int64_t> dims = {}, bool keepdim = false);
// The shape of sum(x, dims, keepdim=true).
Shape kept_shape(const Tensor& x, std::vector<std::int64_t> dims);
// Sums `grad` over the dimensions along which `shape` was broadcast to grad's shape: the
// backward of broadcasting.
Tensor sum_to_shape(const Tensor& grad, const Shape& shape);

struct MaxResult {
  Tensor values;
  Tensor indices;  // i64, the position of the first maximum along dim
};
MaxResult max(const Tensor& x, std::int64_t dim, bool keepdim = false);
// The backward of max: grad placed at the indices along dim, zero elsewhere.
Tensor max_backward(const Tensor& grad, const Tensor& indices, const Shape& input_shape,
                    std::int64_t dim, bool keepdim);

}  // namespace tally::ops
