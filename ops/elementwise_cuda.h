// CUDA launchers of the elementwise ops (defined in ops/elementwise_cuda.cu). Each queues its
// kernel on `stream` and writes into outputs the op has already allocated: operands have any
// strides, and inputs broadcast to the output's shape. Math is done in float as on the CPU.
#pragma once

#include "core/cuda_context.h"
#include "core/tensor.h"
#include "ops/functors.h"

namespace tally::ops::cuda {

// out = op(x); floating dtypes.
void unary(const CudaStream& stream, UnaryOp op, const Tensor& out, const Tensor& x);
// out = a op b; out may be a (in place). Floating dtypes, all three the same.
void binary(const CudaStream& stream, BinaryOp op, const Tensor& out, const Tensor& a,
            const Tensor& b);
// out = a op scalar.
void binary_scalar(const CudaStream& stream, BinaryOp op, const Tensor& out, const Tensor& a,
                   float scalar);
// dst = dst * scale + src * alpha, rounded after each product and the sum as on the CPU.
void axpby(const CudaStream& stream, const Tensor& dst, float scale, const Tensor& src,
           float alpha);
// Every element of t = value converted to t's dtype (any dtype).
void fill(const CudaStream& stream, const Tensor& t, float value);
// dst = src converted through float to dst's dtype (any dtypes, same shape).
void cast(const CudaStream& stream, const Tensor& dst, const Tensor& src);
// out = mask ? value : x; mask u8, out and x of one floating dtype.
void masked_fill(const CudaStream& stream, const Tensor& out, const Tensor& x, const Tensor& mask,
                 float value);

}  // namespace tally::ops::cuda
