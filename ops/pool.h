// 2-d max and average pooling over NCHW tensors with square windows, as PyTorch's max_pool2d and
// avg_pool2d (floor mode; padding at most half the kernel). A stride of 0 means the kernel size.
// Computed in float for every floating dtype; outputs are contiguous.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace tally::ops {

struct MaxPoolResult {
  Tensor values;   // [N, C, OH, OW], OH = (H + 2 * padding - kernel) / stride + 1, OW likewise
  Tensor indices;  // i64 [N, C, OH, OW]: h * W + w of each maximum in its input plane (the
                   // first in window order on ties, or a NaN the window holds), as PyTorch;
                   // undefined unless asked for
};
// Padding never wins: windows take the maximum of the input elements they cover.
MaxPoolResult max_pool2d(const Tensor& x, std::int64_t kernel, std::int64_t stride = 0,
                         std::int64_t padding = 0, bool with_indices = true);
// grad [N, C, OH, OW] summed into the input positions `indices` name -> [N, C, H, W]; where
// windows overlap, the sums are rounded to the gradient's dtype as they go.
Tensor max_pool2d_backward(const Tensor& grad, const Tensor& indices, const Shape& input_shape,
                           std::int64_t kernel, std::int64_t stride, std::int64_t padding);

// The mean over each window, padding counted as zeros (count_include_pad=true): every window
// divides by kernel * kernel.
Tensor avg_pool2d(const Tensor& x, std::int64_t kernel, std::int64_t stride = 0,
                  std::int64_t padding = 0);
Tensor avg_pool2d_backward(const Tensor& grad, const Shape& input_shape, std::int64_t kernel,
                           std::int64_t stride, std::int64_t padding);

}  // namespace tally::ops
