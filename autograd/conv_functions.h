// The differentiable API for convolution and pooling over NCHW tensors (see ops/conv2d.h and
// ops/pool.h for the rules, and for the column buffer conv2d takes as workspace).
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace tally {

// x [N, C, H, W] with weight [O, C, KH, KW] and bias [O] (may be undefined) -> [N, O, OH, OW].
// Saves x and weight for backward when any of x, weight needs a gradient, as PyTorch's
// convolution node does.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, std::int64_t stride = 1,
              std::int64_t padding = 0);
// Square windows; a stride of 0 means the kernel size. max_pool2d saves its i64 argmax indices
// (the size of its output, 8 bytes an element) for backward; avg_pool2d saves nothing.
Tensor max_pool2d(const Tensor& x, std::int64_t kernel, std::int64_t stride = 0,
                  std::int64_t padding = 0);
Tensor avg_pool2d(const Tensor& x, std::int64_t kernel, std::int64_t stride = 0,
                  std::int64_t padding = 0);

}  // namespace tally
