// conv2d on cuda (defined in ops/conv2d_cuda.cu): cuDNN's legacy convolution API for the three
// passes, tally's own kernels for the bias. Tensors are NCHW, of one floating dtype; x, weight,
// grad and every output must be contiguous. Each launcher queues its work on `stream`. The only
// memory one takes is cuDNN's workspace for its pass: allocated through tally's allocator (tag
// workspace) right before the cuDNN call and freed once it is queued, its size that of the
// algorithm chosen for the problem (ops/cuda_libraries.h: the choice, its log and the limit).
#pragma once

#include <cstdint>

#include "core/cuda_context.h"
#include "core/tensor.h"

namespace tally::ops::cuda {

// out [N, O, OH, OW] = x [N, C, H, W] cross-correlated with weight [O, C, KH, KW], plus bias
// ([O], any stride; may be undefined) added to cuDNN's rounded result.
void conv2d_forward(const CudaStream& stream, const Tensor& out, const Tensor& x,
                    const Tensor& weight, const Tensor& bias, std::int64_t stride,
                    std::int64_t padding);

// dx [N, C, H, W]: the gradient of that convolution for its input, from grad [N, O, OH, OW].
void conv2d_backward_data(const CudaStream& stream, const Tensor& dx, const Tensor& grad,
                          const Tensor& weight, std::int64_t stride, std::int64_t padding);

// dweight [O, C, KH, KW]: the gradient for the weight, from grad and the input x.
void conv2d_backward_filter(const CudaStream& stream, const Tensor& dweight, const Tensor& grad,
                            const Tensor& x, std::int64_t stride, std::int64_t padding);

// dbias [O] = grad summed over N, OH and OW in float, rounded once. grad may have any strides
// here; one block per channel, no scratch memory.
void conv2d_backward_bias(const CudaStream& stream, const Tensor& dbias, const Tensor& grad);

}  // namespace tally::ops::cuda
