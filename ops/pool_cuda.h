// max_pool2d and avg_pool2d on cuda (defined in ops/pool_cuda.cu): tally's own kernels, one thread
// per output element forward and one per input element backward, each computing exactly what
// the CPU kernel computes for that element, in the same order, so results match it bit for bit.
// Inputs have any strides; outputs are contiguous; `stride` is resolved (never 0). Nothing is
// allocated.
#pragma once

#include <cstdint>

#include "core/cuda_context.h"
#include "core/tensor.h"

namespace tally::ops::cuda {

// values [N, C, OH, OW] and, when defined, indices (i64, same shape): each window's maximum and
// h * W + w of it, the first in window order on ties and the last NaN when the window holds any.
void max_pool2d_forward(const CudaStream& stream, const Tensor& values, const Tensor& indices,
                        const Tensor& x, std::int64_t kernel, std::int64_t stride,
                        std::int64_t padding);

// dx [N, C, H, W]: each input position gathers, in output order, the gradients of the windows
// covering it whose index names it, rounding the sum to dx's dtype after each add (the CPU's
// scatter, without atomics). An index outside its window is ignored, where the CPU fails.
void max_pool2d_backward(const CudaStream& stream, const Tensor& dx, const Tensor& grad,
                         const Tensor& indices, std::int64_t kernel, std::int64_t stride,
                         std::int64_t padding);

// out [N, C, OH, OW]: each window's sum over kernel * kernel (padding counts as zeros).
void avg_pool2d_forward(const CudaStream& stream, const Tensor& out, const Tensor& x,
                        std::int64_t kernel, std::int64_t stride, std::int64_t padding);

// dx [N, C, H, W]: the gradients of the windows covering each input position, summed in float
// and divided by kernel * kernel.
void avg_pool2d_backward(const CudaStream& stream, const Tensor& dx, const Tensor& grad,
                         std::int64_t kernel, std::int64_t stride, std::int64_t padding);

}  // namespace tally::ops::cuda
