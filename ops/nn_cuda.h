// CUDA kernels of layer_norm, embedding, the fused optimizer updates and loss unscaling, defined
// in ops/nn_cuda.cu. Each launcher queues its work on `stream` and allocates nothing: the op's
// shared code has made every output and buffer beforehand, the same on every device.
#pragma once

#include <cstdint>
#include <span>

#include "core/cuda_context.h"
#include "core/tensor.h"
#include "ops/optim.h"
#include "ops/optim_element.h"

namespace tally::ops::cuda {

// out = (x - mean) * rstd * weight + bias per row of the contiguous x's last dimension D, writing
// mean and rstd (f32 [rows]); weight and bias ([D], any stride, x's dtype) may be undefined.
void layer_norm_forward(const CudaStream& stream, const Tensor& out, const Tensor& mean,
                        const Tensor& rstd, const Tensor& x, const Tensor& weight,
                        const Tensor& bias, float eps);

// dx (x's shape, when defined) from contiguous grad and x and the forward's mean and rstd.
// dweight and dbias (when defined) are summed over rows into the f32 accumulators dw_acc and
// db_acc ([D], contiguous, zeroed here), then cast into dweight and dbias when those are other
// tensors (16-bit gradients). Row partial sums meet through atomics: the summation order varies.
void layer_norm_backward(const CudaStream& stream, const Tensor& dx, const Tensor& dweight,
                         const Tensor& dbias, const Tensor& dw_acc, const Tensor& db_acc,
                         const Tensor& grad, const Tensor& x, const Tensor& mean,
                         const Tensor& rstd, const Tensor& weight);

// out (contiguous, indices.shape + [D]) = weight[indices]; indices i64 of any strides, weight
// [V, D] of any strides and dtype. The device cannot report an index outside [0, V) without a
// sync, so such an index yields a zero row.
void embedding_forward(const CudaStream& stream, const Tensor& out, const Tensor& indices,
                       const Tensor& weight);

// acc (f32 [V, D], contiguous) = 0, then each row of the contiguous grad ([..., D]) added at its
// index with atomics; acc is cast into out ([V, D], grad's dtype) when they are different
// tensors. Indices outside [0, V) are skipped.
void embedding_backward(const CudaStream& stream, const Tensor& out, const Tensor& acc,
                        const Tensor& grad, const Tensor& indices);

// The fused updates of ops/optim.h, one kernel over contiguous tensors whose dtypes the op has
// checked (ops/optim_element.h).
void sgd_update(const CudaStream& stream, const Tensor& param, const Tensor& grad,
                const Tensor& momentum_buffer, bool first_step, const SgdOptions& options,
                float grad_scale);
void adamw_update(const CudaStream& stream, const Tensor& param, const Tensor& grad,
                  const Tensor& exp_avg, const Tensor& exp_avg_sq, const AdamWStep& step);

// Every element of the contiguous floating tensors *= inv_scale, in place (only read with
// inv_scale 1); found_inf (one f32 element) = 1 when any element is inf or NaN. One launch per
// group of tensors.
void unscale_and_check(const CudaStream& stream, std::span<const Tensor> tensors, float inv_scale,
                       const Tensor& found_inf);

}  // namespace tally::ops::cuda
