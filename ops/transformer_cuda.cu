// CUDA kernels of rms_norm and rotary (contracts in ops/transformer_cuda.h). Kernels first, then
// their launchers. Every kernel computes in float with the CPU kernels' expressions, so that the
// CPU results are their oracle.
#include <algorithm>
#include <type_traits>

#include "allocator/cuda_check.h"
#include "core/strided_index.cuh"
#include "ops/op_util.h"
#include "ops/row_kernels.cuh"
#include "ops/transformer_cuda.h"

namespace tally::ops::cuda {
namespace {

// One block per row (grid-strided): the mean square, then the scaled row.
template <typename T>
__global__ void rms_norm_forward_kernel(T* out, float* rstd, const T* x, Param<T> weight,
                                        std::int64_t rows, std::int64_t width, float eps) {
  __shared__ float scratch[kWarp];
  const auto n = static_cast<float>(width);
  for (std::int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* in = x + row * width;
    float squares = 0.0f;
    for (std::int64_t j = threadIdx.x; j < width; j += blockDim.x) {
      squares += to_float(in[j]) * to_float(in[j]);
    }
    const float s = 1.0f / sqrtf(block_sum(squares, scratch) / n + eps);
    if (threadIdx.x == 0) rstd[row] = s;
    T* o = out + row * width;
    for (std::int64_t j = threadIdx.x; j < width; j += blockDim.x) {
      o[j] = from_float<T>(to_float(in[j]) * s * weight.at(j, 1.0f));
    }
  }
}

// dx = rstd * (g' - xhat * mean(g' * xhat)), g' = g * weight, xhat = x * rstd; one block per row.
template <typename T>
__global__ void rms_norm_dx_kernel(T* dx, const T* grad, const T* x, const float* rstd,
                                   Param<T> weight, std::int64_t rows, std::int64_t width) {
  __shared__ float scratch[kWarp];
  const float inv_width = 1.0f / static_cast<float>(width);
  for (std::int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float s = rstd[row];
    const T* gi = grad + row * width;
    const T* xi = x + row * width;
    float sum_gx = 0.0f;
    for (std::int64_t j = threadIdx.x; j < width; j += blockDim.x) {
      sum_gx += to_float(gi[j]) * weight.at(j, 1.0f) * to_float(xi[j]) * s;
    }
    sum_gx = block_sum(sum_gx, scratch);
    T* out = dx + row * width;
    for (std::int64_t j = threadIdx.x; j < width; j += blockDim.x) {
      const float gw = to_float(gi[j]) * weight.at(j, 1.0f);
      out[j] = from_float<T>(s * (gw - to_float(xi[j]) * s * sum_gx * inv_width));
    }
  }
}

// Column sums for dweight. A block of kColumns x kRowLanes threads takes 32 adjacent columns
// (coalesced reads) over a slice of the rows, folds its lanes in shared memory, and adds its
// partial sums to the f32 accumulator with one atomic per column.
constexpr int kColumns = 32;
constexpr int kRowLanes = 8;
constexpr std::int64_t kRowsPerBlock = 64;
constexpr std::int64_t kTargetBlocks = 1024;

template <typename T>
__global__ void rms_norm_dweight_kernel(float* dw, const T* grad, const T* x, const float* rstd,
                                        std::int64_t rows, std::int64_t width) {
  __shared__ float partial[kRowLanes][kColumns];
  const std::int64_t j = blockIdx.x * std::int64_t{kColumns} + threadIdx.x;
  float sum = 0.0f;
  if (j < width) {
    for (std::int64_t i = blockIdx.y * std::int64_t{kRowLanes} + threadIdx.y; i < rows;
         i += std::int64_t{gridDim.y} * kRowLanes) {
      sum += to_float(grad[i * width + j]) * to_float(x[i * width + j]) * rstd[i];
    }
  }
  partial[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y != 0 || j >= width) return;
  for (int k = 1; k < kRowLanes; ++k) sum += partial[k][threadIdx.x];
  atomicAdd(dw + j, sum);
}

template <typename T>
__global__ void cast_from_f32_kernel(T* out, const float* in, std::int64_t n) {
  for (std::int64_t i = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; i < n;
       i += std::int64_t{gridDim.x} * blockDim.x) {
    out[i] = from_float<T>(in[i]);
  }
}

// One thread per pair (x[t, i], x[t, i + h]); `index` walks the pairs' first elements in x and
// in the contiguous output, whose offset gives t and i.
template <typename T>
__global__ void rotary_kernel(T* out, const T* x, const float* cos, const float* sin,
                              StridedIndex<2> index, std::int64_t pairs, std::int64_t width,
                              std::int64_t positions, std::int64_t partner, float sign) {
  const std::int64_t half = width / 2;
  for (std::int64_t p = blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x; p < pairs;
       p += std::int64_t{gridDim.x} * blockDim.x) {
    std::int64_t at[2];
    index.offsets(p, at);
    const std::int64_t row = at[1] / width, i = at[1] - row * width;
    const std::int64_t table = (row % positions) * half + i;
    const float a = to_float(x[at[0]]), b = to_float(x[at[0] + partner]);
    const float ct = cos[table], st = sign * sin[table];
    out[at[1]] = from_float<T>(a * ct - b * st);
    out[at[1] + half] = from_float<T>(b * ct + a * st);
  }
}

}  // namespace

void rms_norm_forward(const CudaStream& stream, const Tensor& out, const Tensor& rstd,
                      const Tensor& x, const Tensor& weight, float eps) {
  TALLY_CHECK(x.is_contiguous() && out.is_contiguous(), "rms_norm: " + x.describe());
  const std::int64_t rows = rstd.numel(), width = x.shape().back();
  if (rows == 0 || width == 0) return;
  dispatch_floating("rms_norm", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    rms_norm_forward_kernel<T><<<row_blocks(rows), row_threads(width), 0, stream_of(stream)>>>(
        static_cast<T*>(out.raw_data()), static_cast<float*>(rstd.raw_data()),
        static_cast<const T*>(x.raw_data()), param_of<T>(weight), rows, width, eps);
    CUDA_LAUNCH_CHECK();
  });
}

void rms_norm_backward(const CudaStream& stream, const Tensor& dx, const Tensor& dweight,
                       const Tensor& dw_acc, const Tensor& grad, const Tensor& x,
                       const Tensor& rstd, const Tensor& weight) {
  constexpr std::string_view op = "rms_norm_backward";
  TALLY_CHECK(grad.is_contiguous() && x.is_contiguous() && (!dx.defined() || dx.is_contiguous()),
              "rms_norm_backward: " + grad.describe());
  TALLY_CHECK(!dw_acc.defined() || (dw_acc.dtype() == DType::f32 && dw_acc.is_contiguous()),
              "rms_norm_backward: accumulator " + dw_acc.describe());
  const cudaStream_t s = stream_of(stream);
  if (dw_acc.defined()) {
    CUDA_CHECK(cudaMemsetAsync(dw_acc.raw_data(), 0, dw_acc.numel() * sizeof(float), s));
  }
  const std::int64_t rows = rstd.numel(), width = x.shape().back();
  dispatch_floating(op, x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const auto* g = static_cast<const T*>(grad.raw_data());
    const auto* in = static_cast<const T*>(x.raw_data());
    const auto* r = static_cast<const float*>(rstd.raw_data());
    if (rows > 0 && width > 0 && dx.defined()) {
      rms_norm_dx_kernel<T><<<row_blocks(rows), row_threads(width), 0, s>>>(
          static_cast<T*>(dx.raw_data()), g, in, r, param_of<T>(weight), rows, width);
      CUDA_LAUNCH_CHECK();
    }
    if (rows > 0 && width > 0 && dw_acc.defined()) {
      const std::int64_t column_blocks = (width + kColumns - 1) / kColumns;
      const std::int64_t slices =
          std::min({(rows + kRowsPerBlock - 1) / kRowsPerBlock,
                    std::max<std::int64_t>(kTargetBlocks / column_blocks, 1), std::int64_t{65535}});
      const dim3 grid(static_cast<unsigned>(column_blocks), static_cast<unsigned>(slices));
      rms_norm_dweight_kernel<T><<<grid, dim3(kColumns, kRowLanes), 0, s>>>(
          static_cast<float*>(dw_acc.raw_data()), g, in, r, rows, width);
      CUDA_LAUNCH_CHECK();
    }
    // A 16-bit weight gradient is its f32 accumulator narrowed; an f32 one is the accumulator.
    if constexpr (!std::is_same_v<T, float>) {
      const std::int64_t n = dweight.defined() ? dweight.numel() : 0;
      if (n > 0) {
        TALLY_CHECK(dweight.is_contiguous() && n == dw_acc.numel(),
                    "rms_norm_backward: " + dweight.describe());
        cast_from_f32_kernel<T><<<grid_for(n), kThreads, 0, s>>>(
            static_cast<T*>(dweight.raw_data()), static_cast<const float*>(dw_acc.raw_data()), n);
        CUDA_LAUNCH_CHECK();
      }
    }
  });
}

void rotary(const CudaStream& stream, const Tensor& out, const Tensor& x, const Tensor& cos,
            const Tensor& sin, bool inverse) {
  TALLY_CHECK(
      out.is_contiguous() && out.shape() == x.shape() && cos.is_contiguous() && sin.is_contiguous(),
      "rotary: " + x.describe());
  const std::int64_t pairs = x.numel() / 2;
  if (pairs == 0) return;
  const std::int64_t width = x.shape().back(), positions = x.shape()[x.dim() - 2];
  Shape halves = x.shape();
  halves.back() = width / 2;
  const auto index = make_strided_index<2>(halves, {x.strides(), out.strides()});
  dispatch_floating("rotary", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    rotary_kernel<T><<<grid_for(pairs), kThreads, 0, stream_of(stream)>>>(
        static_cast<T*>(out.raw_data()), static_cast<const T*>(x.raw_data()),
        static_cast<const float*>(cos.raw_data()), static_cast<const float*>(sin.raw_data()), index,
        pairs, width, positions, (width / 2) * x.strides().back(), inverse ? -1.0f : 1.0f);
    CUDA_LAUNCH_CHECK();
  });
}

}  // namespace tally::ops::cuda
