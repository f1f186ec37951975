// CUDA launchers of the reductions, softmax and the losses (defined in ops/reduce_cuda.cu). Each
// queues its kernels on `stream` and allocates nothing: the op's shared code has made every output
// beforehand, the same on every device. Inputs have any strides; outputs are the fresh contiguous
// tensors the op made. Math is done in float (the losses' totals in double) as on the CPU; only
// the order of the additions differs.
#pragma once

#include <cstdint>
#include <vector>

#include "core/cuda_context.h"
#include "core/tensor.h"

namespace tally::ops::cuda {

// out = sum of x over `dims` (sorted, unique) times `scale`, in x's kept shape (reduced dims of
// size 1). acc is the f32 accumulator of that shape; it is out itself when x is f32. Each output
// is summed within one block, in a fixed order, except when a few outputs each sum many elements:
// then blocks' partial sums meet in acc (zeroed here) through atomics, in an order that varies.
void sum(const CudaStream& stream, const Tensor& acc, const Tensor& out, const Tensor& x,
         const std::vector<std::int64_t>& dims, float scale);

// values and indices (i64) in x's kept shape: the maximum along `dim` and the position of its
// first occurrence. A NaN in the first position wins; NaNs elsewhere are passed over.
void max_along(const CudaStream& stream, const Tensor& values, const Tensor& indices,
               const Tensor& x, std::int64_t dim);

// out (contiguous, zeroed here) receives grad at the positions `indices` pick along `dim`; grad
// and indices have out's shape with `dim` of size 1. An index outside out's extent is skipped.
void max_backward(const CudaStream& stream, const Tensor& out, const Tensor& grad,
                  const Tensor& indices, std::int64_t dim);

// out = softmax (or log_softmax when `log`) of x along `dim`.
void softmax(const CudaStream& stream, const Tensor& out, const Tensor& x, std::int64_t dim,
             bool log);
// out = the gradient of softmax (log_softmax when `log`) at output y, given grad.
void softmax_backward(const CudaStream& stream, const Tensor& out, const Tensor& grad,
                      const Tensor& y, std::int64_t dim, bool log);

// log_probs = log_softmax(logits) along dim 1 ([N, C]) and loss (scalar) = the mean over rows of
// -log_probs[row, labels[row]], read back from the stored log_probs. The device cannot report a
// label outside [0, C) without a sync, so such a label makes the loss NaN.
void cross_entropy(const CudaStream& stream, const Tensor& loss, const Tensor& log_probs,
                   const Tensor& logits, const Tensor& labels);
// out ([N, C]) = (exp(log_probs) - onehot(labels)) * grad / N, grad a one-element tensor read on
// the device. A row whose label is outside [0, C) is NaN.
void cross_entropy_backward(const CudaStream& stream, const Tensor& out, const Tensor& grad,
                            const Tensor& log_probs, const Tensor& labels);

// out (scalar) = mean of (input - target)^2, summed in double by one block in a fixed order.
void mse_loss(const CudaStream& stream, const Tensor& out, const Tensor& input,
              const Tensor& target);
// out = 2 * grad * (input - target) / numel, grad a one-element tensor read on the device.
void mse_loss_backward(const CudaStream& stream, const Tensor& out, const Tensor& grad,
                       const Tensor& input, const Tensor& target);

}  // namespace tally::ops::cuda
