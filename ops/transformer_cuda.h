// CUDA kernels of rms_norm and rotary, defined in ops/transformer_cuda.cu. Each launcher queues
// its work on `stream` and allocates nothing: the op's shared code has made every output and
// buffer beforehand, the same on every device.
#pragma once

#include "core/cuda_context.h"
#include "core/tensor.h"

namespace tally::ops::cuda {

// out = x * rstd * weight per row of the contiguous x's last dimension D, writing rstd (f32
// [rows]); weight ([D], any stride, x's dtype) may be undefined.
void rms_norm_forward(const CudaStream& stream, const Tensor& out, const Tensor& rstd,
                      const Tensor& x, const Tensor& weight, float eps);

// dx (x's shape, when defined) from contiguous grad and x and the forward's rstd. dweight (when
// defined) is summed over rows into the f32 accumulator dw_acc ([D], contiguous, zeroed here),
// then cast into dweight when that is another tensor (a 16-bit gradient). Row partial sums meet
// through atomics: the summation order varies.
void rms_norm_backward(const CudaStream& stream, const Tensor& dx, const Tensor& dweight,
                       const Tensor& dw_acc, const Tensor& grad, const Tensor& x,
                       const Tensor& rstd, const Tensor& weight);

// out (contiguous, x's shape and dtype) = x ([..., T, D], any strides) rotated by the contiguous
// f32 [T, D/2] tables, as ops/rotary.h states; sin negated when `inverse`.
void rotary(const CudaStream& stream, const Tensor& out, const Tensor& x, const Tensor& cos,
            const Tensor& sin, bool inverse);

}  // namespace tally::ops::cuda
