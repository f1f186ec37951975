// Element offsets of several operands from a row-major linear index, for CUDA kernels over
// tensors with any strides (broadcast operands have stride 0). Built on the host from the
// coalesced layout (core/strided_loop.h), so a contiguous tensor is one dimension and its
// offset is the index itself. Passed to kernels by value.
#pragma once

#include <array>
#include <cstdint>
#include <span>

#include "allocator/error.h"
#include "core/strided_loop.h"

namespace tally {

inline constexpr int kMaxKernelDims = 8;

template <std::size_t N>
struct StridedIndex {
  int dims = 0;
  std::int64_t sizes[kMaxKernelDims] = {};
  std::int64_t strides[N][kMaxKernelDims] = {};

  // offsets[k] = sum over d of index_d * strides[k][d], index_d the digits of `linear` in sizes.
  __host__ __device__ void offsets(std::int64_t linear, std::int64_t (&out)[N]) const {
    // Dense and simply strided operands coalesce to one dimension: no division at all.
    if (dims == 1) {
      for (std::size_t k = 0; k < N; ++k) out[k] = linear * strides[k][0];
      return;
    }
    for (std::size_t k = 0; k < N; ++k) out[k] = 0;
    for (int d = dims - 1; d >= 0; --d) {
      const std::int64_t i = linear % sizes[d];
      linear /= sizes[d];
      for (std::size_t k = 0; k < N; ++k) out[k] += i * strides[k][d];
    }
  }
};

// The index over `shape` for operands with the given strides (each already broadcast to shape).
template <std::size_t N>
StridedIndex<N> make_strided_index(std::span<const std::int64_t> shape,
                                   const std::array<std::span<const std::int64_t>, N>& strides) {
  const StridedLayout<N> layout = coalesce<N>(shape, strides);
  if (layout.shape.size() > static_cast<std::size_t>(kMaxKernelDims)) {
    throw UsageError("a CUDA kernel takes at most " + std::to_string(kMaxKernelDims) +
                     " non-contiguous dimensions");
  }
  StridedIndex<N> index;
  index.dims = static_cast<int>(layout.shape.size());
  for (int d = 0; d < index.dims; ++d) {
    index.sizes[d] = layout.shape[d];
    for (std::size_t k = 0; k < N; ++k) index.strides[k][d] = layout.strides[k][d];
  }
  return index;
}

// Blocks of kThreads for n elements, capped: kernels loop with a grid stride past the cap.
inline constexpr int kThreads = 256;
inline unsigned grid_for(std::int64_t n) {
  const std::int64_t blocks = (n + kThreads - 1) / kThreads;
  return static_cast<unsigned>(blocks < 65535 * 8 ? (blocks > 0 ? blocks : 1) : 65535 * 8);
}

}  // namespace tally
