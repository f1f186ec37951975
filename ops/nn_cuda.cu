// CUDA kernels of layer_norm, embedding, the fused optimizer updates and loss unscaling (contracts
// in ops/nn_cuda.h). Kernels first, then their launchers. Every kernel computes in float with the
// CPU kernels' expressions, so that the CPU results are their oracle.
#include <algorithm>
#include <type_traits>

#include "allocator/cuda_check.h"
#include "core/strided_index.cuh"
#include "ops/loss_scale.h"
#include "ops/nn_cuda.h"
#include "ops/op_util.h"
#include "ops/row_kernels.cuh"

namespace tally::ops::cuda {
namespace {

// Grid-size cap of the unscale kernel: it loops with a grid stride past it.
constexpr unsigned kMaxScaleBlocks = 1024;

__device__ std::int64_t thread_index() {
  return blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
}
__device__ std::int64_t grid_stride() {
  return std::int64_t{gridDim.x} * blockDim.x;
}

// One block per row (grid-strided): mean, then the biased variance around it, as the CPU does.
template <typename T>
__global__ void layer_norm_forward_kernel(T* out, float* mean, float* rstd, const T* x,
                                          Param<T> weight, Param<T> bias, std::int64_t rows,
                                          std::int64_t width, float eps) {
  __shared__ float scratch[kWarp];
  const auto n = static_cast<float>(width);
  for (std::int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const T* in = x + row * width;
    float sum = 0.0f;
    for (std::int64_t j = threadIdx.x; j < width; j += blockDim.x) sum += to_float(in[j]);
    const float m = block_sum(sum, scratch) / n;
    float squares = 0.0f;
    for (std::int64_t j = threadIdx.x; j < width; j += blockDim.x) {
      const float d = to_float(in[j]) - m;
      squares += d * d;
    }
    const float s = 1.0f / sqrtf(block_sum(squares, scratch) / n + eps);
    if (threadIdx.x == 0) {
      mean[row] = m;
      rstd[row] = s;
    }
    T* o = out + row * width;
    for (std::int64_t j = threadIdx.x; j < width; j += blockDim.x) {
      const float normed = (to_float(in[j]) - m) * s;
      o[j] = from_float<T>(normed * weight.at(j, 1.0f) + bias.at(j, 0.0f));
    }
  }
}

// dx = rstd * (g' - mean(g') - xhat * mean(g' * xhat)), g' = g * weight; one block per row.
template <typename T>
__global__ void layer_norm_dx_kernel(T* dx, const T* grad, const T* x, const float* mean,
                                     const float* rstd, Param<T> weight, std::int64_t rows,
                                     std::int64_t width) {
  __shared__ float scratch[kWarp];
  const float inv_width = 1.0f / static_cast<float>(width);
  for (std::int64_t row = blockIdx.x; row < rows; row += gridDim.x) {
    const float m = mean[row], s = rstd[row];
    const T* gi = grad + row * width;
    const T* xi = x + row * width;
    float sum_g = 0.0f, sum_gx = 0.0f;
    for (std::int64_t j = threadIdx.x; j < width; j += blockDim.x) {
      const float gw = to_float(gi[j]) * weight.at(j, 1.0f);
      sum_g += gw;
      sum_gx += gw * (to_float(xi[j]) - m) * s;
    }
    sum_g = block_sum(sum_g, scratch);
    sum_gx = block_sum(sum_gx, scratch);
    T* out = dx + row * width;
    for (std::int64_t j = threadIdx.x; j < width; j += blockDim.x) {
      const float gw = to_float(gi[j]) * weight.at(j, 1.0f);
      const float xhat = (to_float(xi[j]) - m) * s;
      out[j] = from_float<T>(s * (gw - sum_g * inv_width - xhat * sum_gx * inv_width));
    }
  }
}

// Column sums for dweight and dbias. A block of kColumns x kRowLanes threads takes 32 adjacent
// columns (coalesced reads) over a slice of the rows, folds its lanes in shared memory, and adds
// its partial sums to the f32 accumulators (either may be null) with one atomic per column.
constexpr int kColumns = 32;
constexpr int kRowLanes = 8;
constexpr std::int64_t kRowsPerBlock = 64;
constexpr std::int64_t kTargetBlocks = 1024;

template <typename T>
__global__ void layer_norm_dparams_kernel(float* dw, float* db, const T* grad, const T* x,
                                          const float* mean, const float* rstd, std::int64_t rows,
                                          std::int64_t width) {
  __shared__ float partial_w[kRowLanes][kColumns];
  __shared__ float partial_b[kRowLanes][kColumns];
  const std::int64_t j = blockIdx.x * std::int64_t{kColumns} + threadIdx.x;
  float sw = 0.0f, sb = 0.0f;
  if (j < width) {
    for (std::int64_t i = blockIdx.y * std::int64_t{kRowLanes} + threadIdx.y; i < rows;
         i += std::int64_t{gridDim.y} * kRowLanes) {
      const float gj = to_float(grad[i * width + j]);
      if (dw != nullptr) sw += gj * (to_float(x[i * width + j]) - mean[i]) * rstd[i];
      sb += gj;
    }
  }
  partial_w[threadIdx.y][threadIdx.x] = sw;
  partial_b[threadIdx.y][threadIdx.x] = sb;
  __syncthreads();
  if (threadIdx.y != 0 || j >= width) return;
  for (int k = 1; k < kRowLanes; ++k) {
    sw += partial_w[k][threadIdx.x];
    sb += partial_b[k][threadIdx.x];
  }
  if (dw != nullptr) atomicAdd(dw + j, sw);
  if (db != nullptr) atomicAdd(db + j, sb);
}

template <typename T>
__global__ void cast_from_f32_kernel(T* out, const float* in, std::int64_t n) {
  for (std::int64_t i = thread_index(); i < n; i += grid_stride()) out[i] = from_float<T>(in[i]);
}

// Rows of `weight` moved as unsigned words of the element's size: a gather never converts.
template <typename Word>
__global__ void embedding_forward_kernel(Word* out, const Word* weight, std::int64_t row_stride,
                                         std::int64_t col_stride, const std::int64_t* indices,
                                         StridedIndex<1> positions, std::int64_t n,
                                         std::int64_t width, std::int64_t rows) {
  for (std::int64_t i = thread_index(); i < n; i += grid_stride()) {
    const std::int64_t position = i / width, j = i - position * width;
    std::int64_t at[1];
    positions.offsets(position, at);
    const std::int64_t row = indices[at[0]];
    out[i] = row >= 0 && row < rows ? weight[row * row_stride + j * col_stride] : Word{0};
  }
}

template <typename T>
__global__ void embedding_backward_kernel(float* acc, const T* grad, const std::int64_t* indices,
                                          StridedIndex<1> positions, std::int64_t n,
                                          std::int64_t width, std::int64_t rows) {
  for (std::int64_t i = thread_index(); i < n; i += grid_stride()) {
    const std::int64_t position = i / width, j = i - position * width;
    std::int64_t at[1];
    positions.offsets(position, at);
    const std::int64_t row = indices[at[0]];
    if (row >= 0 && row < rows) atomicAdd(acc + row * width + j, to_float(grad[i]));
  }
}

// buffer is null without momentum.
template <typename P, typename G>
__global__ void sgd_kernel(P* param, const G* grad, P* buffer, std::int64_t n, SgdOptions o,
                           bool first_step, float grad_scale) {
  for (std::int64_t i = thread_index(); i < n; i += grid_stride()) {
    sgd_element(param[i], grad[i], buffer != nullptr ? buffer + i : nullptr, o, first_step,
                grad_scale);
  }
}

template <typename P, typename G>
__global__ void adamw_kernel(P* param, const G* grad, P* exp_avg, P* exp_avg_sq, std::int64_t n,
                             AdamWStep step) {
  for (std::int64_t i = thread_index(); i < n; i += grid_stride()) {
    adamw_element(param[i], grad[i], exp_avg[i], exp_avg_sq[i], step);
  }
}

// Up to kScaleTargets tensors travel by value in the kernel's parameters (24 bytes each, well
// under the 4 KiB every architecture takes), so one launch covers them without a device array.
struct ScaleTarget {
  void* data;
  std::int64_t numel;
  DType dtype;
};
constexpr int kScaleTargets = 64;
struct ScaleBatch {
  ScaleTarget targets[kScaleTargets];
};

template <typename T>
__device__ bool unscale_range(T* p, std::int64_t n, float inv_scale) {
  bool found = false;
  for (std::int64_t i = thread_index(); i < n; i += grid_stride()) {
    found |= unscale_element(p[i], inv_scale);
  }
  return found;
}

// blockIdx.y picks the tensor. Every thread that saw a non-finite value writes the same 1, so
// the racing stores need no atomics.
__global__ void unscale_kernel(ScaleBatch batch, float inv_scale, float* found_inf) {
  const ScaleTarget t = batch.targets[blockIdx.y];
  bool found = false;
  switch (t.dtype) {
    case DType::f16:
      found = unscale_range(static_cast<Half*>(t.data), t.numel, inv_scale);
      break;
    case DType::bf16:
      found = unscale_range(static_cast<BFloat16*>(t.data), t.numel, inv_scale);
      break;
    default:
      found = unscale_range(static_cast<float*>(t.data), t.numel, inv_scale);
      break;
  }
  if (found) *found_inf = 1.0f;
}

// Zeroes a contiguous f32 accumulator.
void zero_accumulator(const Tensor& acc, cudaStream_t s) {
  TALLY_CHECK(acc.dtype() == DType::f32 && acc.is_contiguous(), "accumulator " + acc.describe());
  CUDA_CHECK(cudaMemsetAsync(acc.raw_data(), 0, acc.numel() * sizeof(float), s));
}

// out = acc converted to out's dtype, unless acc is out itself.
void finish_accumulator(std::string_view op, const Tensor& out, const Tensor& acc, cudaStream_t s) {
  if (!out.defined() || acc.storage() == out.storage() || out.numel() == 0) return;
  TALLY_CHECK(out.is_contiguous() && out.numel() == acc.numel(), "cast: " + out.describe());
  dispatch_floating(op, out.dtype(), [&](auto zero) {
    using T = decltype(zero);
    if constexpr (!std::is_same_v<T, float>) {  // an f32 gradient is its own accumulator
      const std::int64_t n = out.numel();
      cast_from_f32_kernel<T><<<grid_for(n), kThreads, 0, s>>>(
          static_cast<T*>(out.raw_data()), static_cast<const float*>(acc.raw_data()), n);
      CUDA_LAUNCH_CHECK();
    }
  });
}

template <typename T>
T* data_or_null(const Tensor& t) {
  return t.defined() ? static_cast<T*>(t.raw_data()) : nullptr;
}

}  // namespace

void layer_norm_forward(const CudaStream& stream, const Tensor& out, const Tensor& mean,
                        const Tensor& rstd, const Tensor& x, const Tensor& weight,
                        const Tensor& bias, float eps) {
  TALLY_CHECK(x.is_contiguous() && out.is_contiguous(), "layer_norm: " + x.describe());
  const std::int64_t rows = mean.numel(), width = x.shape().back();
  if (rows == 0 || width == 0) return;
  dispatch_floating("layer_norm", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    layer_norm_forward_kernel<T><<<row_blocks(rows), row_threads(width), 0, stream_of(stream)>>>(
        static_cast<T*>(out.raw_data()), static_cast<float*>(mean.raw_data()),
        static_cast<float*>(rstd.raw_data()), static_cast<const T*>(x.raw_data()),
        param_of<T>(weight), param_of<T>(bias), rows, width, eps);
    CUDA_LAUNCH_CHECK();
  });
}

void layer_norm_backward(const CudaStream& stream, const Tensor& dx, const Tensor& dweight,
                         const Tensor& dbias, const Tensor& dw_acc, const Tensor& db_acc,
                         const Tensor& grad, const Tensor& x, const Tensor& mean,
                         const Tensor& rstd, const Tensor& weight) {
  constexpr std::string_view op = "layer_norm_backward";
  TALLY_CHECK(grad.is_contiguous() && x.is_contiguous() && (!dx.defined() || dx.is_contiguous()),
              "layer_norm_backward: " + grad.describe());
  const cudaStream_t s = stream_of(stream);
  if (dw_acc.defined()) zero_accumulator(dw_acc, s);
  if (db_acc.defined()) zero_accumulator(db_acc, s);
  const std::int64_t rows = mean.numel(), width = x.shape().back();
  if (rows > 0 && width > 0) {
    dispatch_floating(op, x.dtype(), [&](auto zero) {
      using T = decltype(zero);
      const auto* g = static_cast<const T*>(grad.raw_data());
      const auto* in = static_cast<const T*>(x.raw_data());
      const auto* m = static_cast<const float*>(mean.raw_data());
      const auto* r = static_cast<const float*>(rstd.raw_data());
      if (dx.defined()) {
        layer_norm_dx_kernel<T><<<row_blocks(rows), row_threads(width), 0, s>>>(
            static_cast<T*>(dx.raw_data()), g, in, m, r, param_of<T>(weight), rows, width);
        CUDA_LAUNCH_CHECK();
      }
      if (dw_acc.defined() || db_acc.defined()) {
        const std::int64_t column_blocks = (width + kColumns - 1) / kColumns;
        const std::int64_t slices = std::min(
            {(rows + kRowsPerBlock - 1) / kRowsPerBlock,
             std::max<std::int64_t>(kTargetBlocks / column_blocks, 1), std::int64_t{65535}});
        const dim3 grid(static_cast<unsigned>(column_blocks), static_cast<unsigned>(slices));
        layer_norm_dparams_kernel<T><<<grid, dim3(kColumns, kRowLanes), 0, s>>>(
            data_or_null<float>(dw_acc), data_or_null<float>(db_acc), g, in, m, r, rows, width);
        CUDA_LAUNCH_CHECK();
      }
    });
  }
  finish_accumulator(op, dweight, dw_acc, s);
  finish_accumulator(op, dbias, db_acc, s);
}

void embedding_forward(const CudaStream& stream, const Tensor& out, const Tensor& indices,
                       const Tensor& weight) {
  TALLY_CHECK(out.is_contiguous() && indices.dtype() == DType::i64 && weight.dim() == 2,
              "embedding: " + indices.describe() + " into " + weight.describe());
  const std::int64_t n = out.numel(), width = weight.shape()[1];
  if (n == 0) return;
  const auto positions = make_strided_index<1>(indices.shape(), {indices.strides()});
  const auto* idx = static_cast<const std::int64_t*>(indices.raw_data());
  const auto launch = [&](auto word) {
    using Word = decltype(word);
    embedding_forward_kernel<Word><<<grid_for(n), kThreads, 0, stream_of(stream)>>>(
        static_cast<Word*>(out.raw_data()), static_cast<const Word*>(weight.raw_data()),
        weight.strides()[0], weight.strides()[1], idx, positions, n, width, weight.shape()[0]);
    CUDA_LAUNCH_CHECK();
  };
  switch (dtype_size(weight.dtype())) {
    case 1:
      return launch(std::uint8_t{});
    case 2:
      return launch(std::uint16_t{});
    case 4:
      return launch(std::uint32_t{});
    case 8:
      return launch(std::uint64_t{});
  }
  TALLY_CHECK(false, "embedding: no word for " + weight.describe());
}

void embedding_backward(const CudaStream& stream, const Tensor& out, const Tensor& acc,
                        const Tensor& grad, const Tensor& indices) {
  constexpr std::string_view op = "embedding_backward";
  TALLY_CHECK(grad.is_contiguous() && indices.dtype() == DType::i64 && acc.dim() == 2,
              "embedding_backward: " + grad.describe() + " at " + indices.describe());
  const cudaStream_t s = stream_of(stream);
  zero_accumulator(acc, s);
  const std::int64_t n = grad.numel(), width = acc.shape()[1];
  if (n > 0) {
    const auto positions = make_strided_index<1>(indices.shape(), {indices.strides()});
    dispatch_floating(op, grad.dtype(), [&](auto zero) {
      using T = decltype(zero);
      embedding_backward_kernel<T><<<grid_for(n), kThreads, 0, s>>>(
          static_cast<float*>(acc.raw_data()), static_cast<const T*>(grad.raw_data()),
          static_cast<const std::int64_t*>(indices.raw_data()), positions, n, width,
          acc.shape()[0]);
      CUDA_LAUNCH_CHECK();
    });
  }
  finish_accumulator(op, out, acc, s);
}

void sgd_update(const CudaStream& stream, const Tensor& param, const Tensor& grad,
                const Tensor& momentum_buffer, bool first_step, const SgdOptions& options,
                float grad_scale) {
  const std::int64_t n = param.numel();
  if (n == 0) return;
  dispatch_update("sgd", param.dtype(), grad.dtype(), [&](auto p_zero, auto g_zero) {
    using P = decltype(p_zero);
    using G = decltype(g_zero);
    P* buffer = options.momentum != 0.0f ? static_cast<P*>(momentum_buffer.raw_data()) : nullptr;
    sgd_kernel<P, G><<<grid_for(n), kThreads, 0, stream_of(stream)>>>(
        static_cast<P*>(param.raw_data()), static_cast<const G*>(grad.raw_data()), buffer, n,
        options, first_step, grad_scale);
    CUDA_LAUNCH_CHECK();
  });
}

void adamw_update(const CudaStream& stream, const Tensor& param, const Tensor& grad,
                  const Tensor& exp_avg, const Tensor& exp_avg_sq, const AdamWStep& step) {
  const std::int64_t n = param.numel();
  if (n == 0) return;
  dispatch_update("adamw", param.dtype(), grad.dtype(), [&](auto p_zero, auto g_zero) {
    using P = decltype(p_zero);
    using G = decltype(g_zero);
    adamw_kernel<P, G><<<grid_for(n), kThreads, 0, stream_of(stream)>>>(
        static_cast<P*>(param.raw_data()), static_cast<const G*>(grad.raw_data()),
        static_cast<P*>(exp_avg.raw_data()), static_cast<P*>(exp_avg_sq.raw_data()), n, step);
    CUDA_LAUNCH_CHECK();
  });
}

void unscale_and_check(const CudaStream& stream, std::span<const Tensor> tensors, float inv_scale,
                       const Tensor& found_inf) {
  TALLY_CHECK(found_inf.dtype() == DType::f32 && found_inf.numel() == 1,
              "unscale_and_check: found_inf " + found_inf.describe());
  auto* flag = static_cast<float*>(found_inf.raw_data());
  ScaleBatch batch{};
  unsigned count = 0;
  std::int64_t largest = 0;
  const auto launch = [&] {
    if (count == 0) return;
    const dim3 grid(std::min(grid_for(largest), kMaxScaleBlocks), count);
    unscale_kernel<<<grid, kThreads, 0, stream_of(stream)>>>(batch, inv_scale, flag);
    CUDA_LAUNCH_CHECK();
    count = 0;
    largest = 0;
  };
  for (const Tensor& t : tensors) {
    if (t.numel() == 0) continue;
    TALLY_CHECK(t.is_contiguous() && is_floating(t.dtype()), "unscale_and_check: " + t.describe());
    batch.targets[count++] = {t.raw_data(), t.numel(), t.dtype()};
    largest = std::max(largest, t.numel());
    if (count == kScaleTargets) launch();
  }
  launch();
}

}  // namespace tally::ops::cuda
