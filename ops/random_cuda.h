// CUDA launchers of the generated tensors (arange, causal mask, Philox randn and uniform) and of
// dropout, defined in ops/random_cuda.cu. Each queues its kernel on `stream` and writes into
// outputs the op has already allocated. Random numbers come from the same Philox stream positions
// as on the CPU: element i of a draw at `rng` is philox_*_at(rng.seed, rng.offset, i).
#pragma once

#include "core/cuda_context.h"
#include "core/generator.h"
#include "core/tensor.h"

namespace tally::ops::cuda {

// out[i] = i; out contiguous, 1-d, any dtype (integers exactly, floats through float).
void arange(const CudaStream& stream, const Tensor& out);
// out[i][j] = j > i; out contiguous u8 [n, n].
void causal_mask(const CudaStream& stream, const Tensor& out);
// out[i] = philox_normal_at(rng, i); out contiguous f32.
void randn(const CudaStream& stream, const Tensor& out, PhiloxState rng);
// out[i] = low + (high - low) * philox_uniform_at(rng, i); out contiguous f32.
void uniform(const CudaStream& stream, const Tensor& out, PhiloxState rng, float low, float high);
// Element i (row-major in x's shape) is kept when philox_uniform_at(rng, i) > p: mask[i] = 1 and
// out[i] = x * scale, else 0 and 0. out (x's dtype) and mask (u8) contiguous; x any strides.
void dropout(const CudaStream& stream, const Tensor& out, const Tensor& mask, const Tensor& x,
             PhiloxState rng, float p, float scale);
// out = mask ? grad * scale : 0; all of grad's shape, any strides, mask u8.
void dropout_backward(const CudaStream& stream, const Tensor& out, const Tensor& grad,
                      const Tensor& mask, float scale);

}  // namespace tally::ops::cuda
