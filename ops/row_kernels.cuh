// What the row-per-block CUDA kernels share (layer_norm, rms_norm and the like): the block-wide
// sum, optional 1-d parameters, and the launch shape. Device code, included by .cu files only.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>

#include "core/cuda_context.h"
#include "core/strided_index.cuh"
#include "core/tensor.h"

namespace tally::ops::cuda {

inline constexpr int kWarp = 32;
// Grid-size cap for row-per-block kernels: they loop with a grid stride past it.
inline constexpr std::int64_t kMaxRowBlocks = 65535 * 8;

// The sum of v over the block, returned to every thread. Every thread calls it; blockDim.x is a
// multiple of 32; `scratch` holds 32 floats.
__device__ inline float block_sum(float v, float* scratch) {
  for (int o = kWarp / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  __syncthreads();  // the previous call's readers are done with scratch
  if (threadIdx.x % kWarp == 0) scratch[threadIdx.x / kWarp] = v;
  __syncthreads();
  const unsigned lane = threadIdx.x % kWarp;
  v = lane < blockDim.x / kWarp ? scratch[lane] : 0.0f;
  for (int o = kWarp / 2; o > 0; o /= 2) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// An optional 1-d parameter of any stride.
template <typename T>
struct Param {
  const T* data = nullptr;
  std::int64_t stride = 0;

  __device__ float at(std::int64_t i, float absent) const {
    return data != nullptr ? to_float(data[i * stride]) : absent;
  }
};

template <typename T>
Param<T> param_of(const Tensor& p) {
  if (!p.defined()) return {};
  return {static_cast<const T*>(p.raw_data()), p.strides()[0]};
}

inline cudaStream_t stream_of(const CudaStream& stream) {
  return static_cast<cudaStream_t>(stream.handle);
}

// Threads per row for a row-per-block kernel: enough warps to cover short rows, 256 for long.
inline unsigned row_threads(std::int64_t width) {
  const std::int64_t warps = (std::min<std::int64_t>(width, kThreads) + kWarp - 1) / kWarp;
  return static_cast<unsigned>(std::max<std::int64_t>(warps, 1) * kWarp);
}

inline unsigned row_blocks(std::int64_t rows) {
  return static_cast<unsigned>(std::min(rows, kMaxRowBlocks));
}

}  // namespace tally::ops::cuda
