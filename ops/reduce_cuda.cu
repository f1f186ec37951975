// CUDA kernels of the reductions, softmax and the losses (contracts in ops/reduce_cuda.h).
// Kernels first, then their launchers. A reduction hands each output row to a group of lanes of
// one block, which walk the row's elements and then combine their partials through shared memory
// in a fixed order, so that results do not vary from run to run. Expressions are the CPU kernels',
// so that the CPU results are the oracle.
#include <algorithm>
#include <cmath>
#include <cstdint>

#include "allocator/cuda_check.h"
#include "core/strided_index.cuh"
#include "ops/op_util.h"
#include "ops/reduce_cuda.h"

namespace tally::ops::cuda {
namespace {

// Threads of a row-reducing block; single-block whole-tensor reductions use kWideBlock.
constexpr int kBlock = 256;
constexpr int kWideBlock = 1024;
// Lanes per row when neighbouring rows, not a row's elements, are neighbours in memory.
constexpr int kStridedLanes = 8;
constexpr std::int64_t kMaxBlocks = 65535 * 8;
// A sum is split over several blocks per output only when each thread still adds this many.
constexpr std::int64_t kMinPerThread = 32;

__device__ std::int64_t thread_index() {
  return blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
}
__device__ std::int64_t grid_stride() {
  return std::int64_t{gridDim.x} * blockDim.x;
}

// StridedIndex::offsets without the divisions when the layout coalesced into one dimension.
template <std::size_t N>
__device__ void offsets_at(const StridedIndex<N>& index, std::int64_t linear,
                           std::int64_t (&out)[N]) {
  if (index.dims == 1) {
    for (std::size_t k = 0; k < N; ++k) out[k] = linear * index.strides[k][0];
  } else {
    index.offsets(linear, out);
  }
}

__device__ std::int64_t offset_at(const StridedIndex<1>& index, std::int64_t linear) {
  std::int64_t at[1];
  offsets_at(index, linear, at);
  return at[0];
}

// How a block's threads share its rows: `lanes` threads (a power of two dividing the block) per
// row. When a row's elements are neighbours in memory its lanes are neighbouring threads;
// otherwise neighbouring threads take neighbouring rows. Either way a warp reads nearby addresses.
struct Lanes {
  int lanes;
  bool adjacent;

  __device__ int rows() const { return static_cast<int>(blockDim.x) / lanes; }
  __device__ int row() const {
    return adjacent ? static_cast<int>(threadIdx.x) / lanes
                    : static_cast<int>(threadIdx.x) % rows();
  }
  __device__ int lane() const {
    return adjacent ? static_cast<int>(threadIdx.x) % lanes
                    : static_cast<int>(threadIdx.x) / rows();
  }
  __device__ int thread(int row, int lane) const {
    return adjacent ? row * lanes + lane : lane * rows() + row;
  }
  // Blocks take rows rows() at a time, grid strided. The loop's condition is the same for every
  // thread of a block, so that all of them reach each barrier.
  __device__ std::int64_t first_row() const { return blockIdx.x * std::int64_t{rows()}; }
  __device__ std::int64_t row_stride() const { return gridDim.x * std::int64_t{rows()}; }
};

struct Plus {
  template <typename V>
  __device__ V operator()(V a, V b) const {
    return a + b;
  }
};

// std::fmax's rule, as the CPU kernels use it: a NaN loses to any number.
struct Fmax {
  __device__ float operator()(float a, float b) const { return fmaxf(a, b); }
};

struct Best {
  float value;
  std::int64_t index;
};

// The larger value, the earlier index on a tie; a NaN never wins.
struct KeepMax {
  __device__ Best operator()(Best a, Best b) const {
    return b.value > a.value || (b.value == a.value && b.index < a.index) ? b : a;
  }
};

// Combines the values of each row's lanes, returning the row's result to all of them. Every
// thread of the block calls it; `shared` holds one V per thread.
template <typename V, typename Combine>
__device__ V reduce_lanes(V* shared, V mine, Lanes lanes, Combine combine) {
  const int row = lanes.row(), lane = lanes.lane();
  shared[threadIdx.x] = mine;
  __syncthreads();
  for (int half = lanes.lanes / 2; half > 0; half /= 2) {
    if (lane < half) {
      shared[threadIdx.x] = combine(shared[threadIdx.x], shared[lanes.thread(row, lane + half)]);
    }
    __syncthreads();
  }
  const V total = shared[lanes.thread(row, 0)];
  __syncthreads();  // before the next call overwrites shared
  return total;
}

__device__ float scaled(float total, float scale) {
  return scale == 1.0f ? total : total * scale;
}

// out[row] (or acc[row] through atomics, when blocks split rows along y) = the sum of row's
// elements in [blockIdx.y * chunk, + chunk).
template <typename T>
__global__ void sum_kernel(T* out, float* acc, const T* x, StridedIndex<1> rows,
                           StridedIndex<1> reduced, std::int64_t count, std::int64_t extent,
                           std::int64_t chunk, float scale, Lanes lanes) {
  __shared__ float shared[kBlock];
  const std::int64_t begin = blockIdx.y * chunk;
  const std::int64_t end = begin + chunk < extent ? begin + chunk : extent;
  for (std::int64_t first = lanes.first_row(); first < count; first += lanes.row_stride()) {
    const std::int64_t row = first + lanes.row();
    float total = 0.0f;
    if (row < count) {
      const T* p = x + offset_at(rows, row);
      for (std::int64_t r = begin + lanes.lane(); r < end; r += lanes.lanes) {
        total += to_float(p[offset_at(reduced, r)]);
      }
    }
    total = reduce_lanes(shared, total, lanes, Plus{});
    if (row < count && lanes.lane() == 0) {
      if (gridDim.y == 1) {
        out[row] = from_float<T>(scaled(total, scale));
      } else {
        atomicAdd(acc + row, total);
      }
    }
  }
}

template <typename T>
__global__ void scale_cast_kernel(T* out, const float* acc, std::int64_t n, float scale) {
  for (std::int64_t i = thread_index(); i < n; i += grid_stride()) {
    out[i] = from_float<T>(scaled(acc[i], scale));
  }
}

// As the CPU's scan: the first element, replaced by each later one strictly greater. So a NaN
// first element stands, and later NaNs never replace anything.
template <typename T>
__global__ void max_kernel(T* values, std::int64_t* indices, const T* x, StridedIndex<1> rows,
                           std::int64_t count, std::int64_t extent, std::int64_t step,
                           Lanes lanes) {
  __shared__ Best shared[kBlock];
  for (std::int64_t first = lanes.first_row(); first < count; first += lanes.row_stride()) {
    const std::int64_t row = first + lanes.row();
    Best best{-INFINITY, INT64_MAX};
    const T* p = x;
    if (row < count) {
      p = x + offset_at(rows, row);
      for (std::int64_t r = lanes.lane(); r < extent; r += lanes.lanes) {
        best = KeepMax{}(best, Best{to_float(p[r * step]), r});
      }
    }
    best = reduce_lanes(shared, best, lanes, KeepMax{});
    if (row < count && lanes.lane() == 0) {
      const float head = to_float(p[0]);
      if (isnan(head)) best = Best{head, 0};
      values[row] = from_float<T>(best.value);
      indices[row] = best.index;
    }
  }
}

template <typename T>
__global__ void max_backward_kernel(T* out, const T* grad, const std::int64_t* indices,
                                    StridedIndex<3> index, std::int64_t n, std::int64_t along,
                                    std::int64_t extent) {
  for (std::int64_t i = thread_index(); i < n; i += grid_stride()) {
    std::int64_t at[3];
    offsets_at(index, i, at);
    const std::int64_t k = indices[at[2]];
    if (k >= 0 && k < extent) out[at[0] + k * along] = grad[at[1]];
  }
}

// Rows along the softmax dim; operand 0 of `rows` is out, operand 1 is x.
template <typename T>
__global__ void softmax_kernel(T* out, const T* x, StridedIndex<2> rows, std::int64_t count,
                               std::int64_t extent, std::int64_t so, std::int64_t sx, bool log,
                               Lanes lanes) {
  __shared__ float shared[kBlock];
  for (std::int64_t first = lanes.first_row(); first < count; first += lanes.row_stride()) {
    const std::int64_t row = first + lanes.row();
    const bool live = row < count;
    std::int64_t at[2] = {0, 0};
    if (live) offsets_at(rows, row, at);
    const T* p = x + at[1];
    T* q = out + at[0];
    float top = -INFINITY;
    if (live) {
      for (std::int64_t j = lanes.lane(); j < extent; j += lanes.lanes) {
        top = fmaxf(top, to_float(p[j * sx]));
      }
    }
    top = reduce_lanes(shared, top, lanes, Fmax{});
    float total = 0.0f;
    if (live) {
      for (std::int64_t j = lanes.lane(); j < extent; j += lanes.lanes) {
        total += expf(to_float(p[j * sx]) - top);
      }
    }
    total = reduce_lanes(shared, total, lanes, Plus{});
    if (live) {
      const float shift = top + logf(total), inv = 1.0f / total;
      for (std::int64_t j = lanes.lane(); j < extent; j += lanes.lanes) {
        const float v = to_float(p[j * sx]);
        q[j * so] = from_float<T>(log ? v - shift : expf(v - top) * inv);
      }
    }
  }
}

// Operands of `rows`: out, grad, y.
template <typename T>
__global__ void softmax_backward_kernel(T* out, const T* grad, const T* y, StridedIndex<3> rows,
                                        std::int64_t count, std::int64_t extent, std::int64_t so,
                                        std::int64_t sg, std::int64_t sy, bool log, Lanes lanes) {
  __shared__ float shared[kBlock];
  for (std::int64_t first = lanes.first_row(); first < count; first += lanes.row_stride()) {
    const std::int64_t row = first + lanes.row();
    const bool live = row < count;
    std::int64_t at[3] = {0, 0, 0};
    if (live) offsets_at(rows, row, at);
    T* q = out + at[0];
    const T* g = grad + at[1];
    const T* v = y + at[2];
    float total = 0.0f;
    if (live) {
      for (std::int64_t j = lanes.lane(); j < extent; j += lanes.lanes) {
        const float gj = to_float(g[j * sg]);
        total += log ? gj : gj * to_float(v[j * sy]);
      }
    }
    total = reduce_lanes(shared, total, lanes, Plus{});
    if (live) {
      for (std::int64_t j = lanes.lane(); j < extent; j += lanes.lanes) {
        const float gj = to_float(g[j * sg]), yj = to_float(v[j * sy]);
        q[j * so] = from_float<T>(log ? gj - expf(yj) * total : yj * (gj - total));
      }
    }
  }
}

// One block: the mean over rows of -log_probs[row, label], in double as on the CPU. The launch
// bounds keep its registers within what a block of kWideBlock threads may use.
template <typename T>
__global__ void __launch_bounds__(kWideBlock)
    cross_entropy_loss_kernel(T* loss, const T* log_probs, const std::int64_t* labels,
                              std::int64_t rows, std::int64_t classes, std::int64_t label_step) {
  __shared__ double shared[kWideBlock];
  double total = 0.0;
  for (std::int64_t i = threadIdx.x; i < rows; i += blockDim.x) {
    const std::int64_t label = labels[i * label_step];
    total -= label >= 0 && label < classes ? to_float(log_probs[i * classes + label]) : NAN;
  }
  total = reduce_lanes(shared, total, Lanes{static_cast<int>(blockDim.x), true}, Plus{});
  if (threadIdx.x == 0)
    *loss = from_float<T>(static_cast<float>(total / static_cast<double>(rows)));
}

template <typename T>
__global__ void cross_entropy_backward_kernel(T* out, const T* grad, const T* log_probs,
                                              const std::int64_t* labels, std::int64_t rows,
                                              std::int64_t classes, std::int64_t row_step,
                                              std::int64_t col_step, std::int64_t label_step,
                                              float count) {
  const float scale = to_float(*grad) / count;
  for (std::int64_t i = thread_index(); i < rows * classes; i += grid_stride()) {
    const std::int64_t row = i / classes, col = i - row * classes;
    const std::int64_t label = labels[row * label_step];
    const float p = expf(to_float(log_probs[row * row_step + col * col_step]));
    out[i] = from_float<T>(
        label >= 0 && label < classes ? (p - (col == label ? 1.0f : 0.0f)) * scale : NAN);
  }
}

// One block: the mean of (a - b)^2, in double as on the CPU. Operands of `index`: a, b. Launch
// bounds as above.
template <typename T>
__global__ void __launch_bounds__(kWideBlock)
    mse_loss_kernel(T* out, const T* a, const T* b, StridedIndex<2> index, std::int64_t n) {
  __shared__ double shared[kWideBlock];
  double total = 0.0;
#pragma unroll 4
  for (std::int64_t i = threadIdx.x; i < n; i += blockDim.x) {
    std::int64_t at[2];
    offsets_at(index, i, at);
    const double d = static_cast<double>(to_float(a[at[0]])) - to_float(b[at[1]]);
    total += d * d;
  }
  total = reduce_lanes(shared, total, Lanes{static_cast<int>(blockDim.x), true}, Plus{});
  if (threadIdx.x == 0) *out = from_float<T>(static_cast<float>(total / static_cast<double>(n)));
}

// Operands of `index`: out, input, target.
template <typename T>
__global__ void mse_loss_backward_kernel(T* out, const T* grad, const T* a, const T* b,
                                         StridedIndex<3> index, std::int64_t n, float count) {
  const float scale = 2.0f * to_float(*grad) / count;
  for (std::int64_t i = thread_index(); i < n; i += grid_stride()) {
    std::int64_t at[3];
    offsets_at(index, i, at);
    out[at[0]] = from_float<T>((to_float(a[at[1]]) - to_float(b[at[2]])) * scale);
  }
}

// Launchers.

template <typename T>
T* ptr(const Tensor& t) {
  return static_cast<T*>(t.raw_data());
}

cudaStream_t native(const CudaStream& stream) {
  return static_cast<cudaStream_t>(stream.handle);
}

// Lanes for `count` rows of `extent` elements `step` apart whose first elements are `row_step`
// apart (innermost strides after coalescing).
Lanes lanes_for(std::int64_t count, std::int64_t extent, std::int64_t step, std::int64_t row_step) {
  const bool adjacent = count == 1 || step <= row_step;
  const int most = adjacent ? kBlock : kStridedLanes;
  int lanes = 1;
  while (lanes < most && lanes < extent) lanes *= 2;
  return {lanes, adjacent};
}

template <std::size_t N>
std::int64_t inner_stride(const StridedIndex<N>& index, std::size_t operand) {
  return index.strides[operand][index.dims - 1];
}

std::int64_t blocks_for(std::int64_t count, Lanes lanes) {
  const std::int64_t rows = kBlock / lanes.lanes;
  const std::int64_t blocks = (count + rows - 1) / rows;
  return blocks < kMaxBlocks ? blocks : kMaxBlocks;
}

// The index over `shape` with `dim` collapsed: one entry per line along dim.
template <std::size_t N>
StridedIndex<N> lines_along(const Shape& shape, std::int64_t dim,
                            const std::array<std::span<const std::int64_t>, N>& strides) {
  Shape outer = shape;
  outer[dim] = 1;
  return make_strided_index<N>(outer, strides);
}

void check_contiguous(std::string_view op, const Tensor& t) {
  TALLY_CHECK(t.is_contiguous(),
              std::string(op) + ": expected a contiguous output, got " + t.describe());
}

}  // namespace

void sum(const CudaStream& stream, const Tensor& acc, const Tensor& out, const Tensor& x,
         const std::vector<std::int64_t>& dims, float scale) {
  check_contiguous("sum", acc);
  check_contiguous("sum", out);
  TALLY_CHECK(acc.dtype() == DType::f32 && acc.numel() == out.numel(),
              "sum: accumulator " + acc.describe() + " does not match " + out.describe());
  const std::int64_t count = out.numel();
  if (count == 0) return;
  Shape kept = x.shape(), reduced = x.shape();
  std::int64_t extent = 1;
  for (std::int64_t d = 0; d < x.dim(); ++d) {
    if (std::find(dims.begin(), dims.end(), d) != dims.end()) {
      kept[d] = 1;
      extent *= x.shape()[d];
    } else {
      reduced[d] = 1;
    }
  }
  const auto rows = make_strided_index<1>(kept, {x.strides()});
  const auto elements = make_strided_index<1>(reduced, {x.strides()});
  const Lanes lanes = lanes_for(count, extent, inner_stride(elements, 0), inner_stride(rows, 0));
  const std::int64_t blocks = blocks_for(count, lanes);

  // Too few rows to fill the device: split each row over blocks that meet in acc.
  int sms = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&sms, cudaDevAttrMultiProcessorCount, stream.device));
  std::int64_t splits = 1;
  if (blocks < 2 * std::int64_t{sms}) {
    const std::int64_t wanted = (4 * std::int64_t{sms} + blocks - 1) / blocks;
    const std::int64_t most = extent / (lanes.lanes * kMinPerThread);
    splits = std::min({wanted, most, std::int64_t{65535}});
  }
  const std::int64_t chunk = splits > 1 ? (extent + splits - 1) / splits : extent;
  if (splits > 1) splits = (extent + chunk - 1) / chunk;
  if (splits < 1) splits = 1;

  auto* s = native(stream);
  if (splits > 1) {
    CUDA_CHECK(cudaMemsetAsync(acc.raw_data(), 0, count * sizeof(float), s));
  }
  const dim3 grid(static_cast<unsigned>(blocks), static_cast<unsigned>(splits));
  dispatch_floating("sum", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    sum_kernel<T><<<grid, kBlock, 0, s>>>(ptr<T>(out), ptr<float>(acc), ptr<const T>(x), rows,
                                          elements, count, extent, chunk, scale, lanes);
    CUDA_LAUNCH_CHECK();
    if (splits > 1 && (scale != 1.0f || x.dtype() != DType::f32)) {
      scale_cast_kernel<T>
          <<<grid_for(count), kThreads, 0, s>>>(ptr<T>(out), ptr<const float>(acc), count, scale);
      CUDA_LAUNCH_CHECK();
    }
  });
}

void max_along(const CudaStream& stream, const Tensor& values, const Tensor& indices,
               const Tensor& x, std::int64_t dim) {
  check_contiguous("max", values);
  check_contiguous("max", indices);
  const std::int64_t extent = x.shape()[dim];
  const std::int64_t count = values.numel();
  TALLY_CHECK(extent > 0, "max: empty dimension of " + x.describe());
  if (count == 0) return;
  const auto rows = lines_along<1>(x.shape(), dim, {x.strides()});
  const std::int64_t step = x.strides()[dim];
  const Lanes lanes = lanes_for(count, extent, step, inner_stride(rows, 0));
  dispatch_floating("max", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    max_kernel<T><<<blocks_for(count, lanes), kBlock, 0, native(stream)>>>(
        ptr<T>(values), ptr<std::int64_t>(indices), ptr<const T>(x), rows, count, extent, step,
        lanes);
    CUDA_LAUNCH_CHECK();
  });
}

void max_backward(const CudaStream& stream, const Tensor& out, const Tensor& grad,
                  const Tensor& indices, std::int64_t dim) {
  check_contiguous("max_backward", out);
  if (out.numel() == 0) return;
  auto* s = native(stream);
  CUDA_CHECK(cudaMemsetAsync(out.raw_data(), 0, out.numel() * dtype_size(out.dtype()), s));
  const std::int64_t n = grad.numel();
  if (n == 0) return;
  Shape out_strides = out.strides();
  const std::int64_t along = out_strides[dim];
  out_strides[dim] = 0;
  const auto index =
      make_strided_index<3>(grad.shape(), {out_strides, grad.strides(), indices.strides()});
  dispatch_floating("max_backward", grad.dtype(), [&](auto zero) {
    using T = decltype(zero);
    max_backward_kernel<T><<<grid_for(n), kThreads, 0, s>>>(ptr<T>(out), ptr<const T>(grad),
                                                            ptr<const std::int64_t>(indices), index,
                                                            n, along, out.shape()[dim]);
    CUDA_LAUNCH_CHECK();
  });
}

void softmax(const CudaStream& stream, const Tensor& out, const Tensor& x, std::int64_t dim,
             bool log) {
  const std::int64_t extent = x.shape()[dim];
  if (x.numel() == 0) return;
  const std::int64_t count = x.numel() / extent;
  const auto rows = lines_along<2>(x.shape(), dim, {out.strides(), x.strides()});
  const std::int64_t so = out.strides()[dim], sx = x.strides()[dim];
  const Lanes lanes = lanes_for(count, extent, sx, inner_stride(rows, 1));
  dispatch_floating("softmax", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    softmax_kernel<T><<<blocks_for(count, lanes), kBlock, 0, native(stream)>>>(
        ptr<T>(out), ptr<const T>(x), rows, count, extent, so, sx, log, lanes);
    CUDA_LAUNCH_CHECK();
  });
}

void softmax_backward(const CudaStream& stream, const Tensor& out, const Tensor& grad,
                      const Tensor& y, std::int64_t dim, bool log) {
  const std::int64_t extent = y.shape()[dim];
  if (y.numel() == 0) return;
  const std::int64_t count = y.numel() / extent;
  const auto rows = lines_along<3>(y.shape(), dim, {out.strides(), grad.strides(), y.strides()});
  const std::int64_t so = out.strides()[dim], sg = grad.strides()[dim], sy = y.strides()[dim];
  const Lanes lanes = lanes_for(count, extent, sg, inner_stride(rows, 1));
  dispatch_floating("softmax_backward", y.dtype(), [&](auto zero) {
    using T = decltype(zero);
    softmax_backward_kernel<T><<<blocks_for(count, lanes), kBlock, 0, native(stream)>>>(
        ptr<T>(out), ptr<const T>(grad), ptr<const T>(y), rows, count, extent, so, sg, sy, log,
        lanes);
    CUDA_LAUNCH_CHECK();
  });
}

void cross_entropy(const CudaStream& stream, const Tensor& loss, const Tensor& log_probs,
                   const Tensor& logits, const Tensor& labels) {
  check_contiguous("cross_entropy", log_probs);
  softmax(stream, log_probs, logits, 1, true);
  const std::int64_t rows = logits.shape()[0], classes = logits.shape()[1];
  dispatch_floating("cross_entropy", logits.dtype(), [&](auto zero) {
    using T = decltype(zero);
    cross_entropy_loss_kernel<T><<<1, kWideBlock, 0, native(stream)>>>(
        ptr<T>(loss), ptr<const T>(log_probs), ptr<const std::int64_t>(labels), rows, classes,
        labels.strides()[0]);
    CUDA_LAUNCH_CHECK();
  });
}

void cross_entropy_backward(const CudaStream& stream, const Tensor& out, const Tensor& grad,
                            const Tensor& log_probs, const Tensor& labels) {
  check_contiguous("cross_entropy_backward", out);
  const std::int64_t rows = log_probs.shape()[0], classes = log_probs.shape()[1];
  if (rows * classes == 0) return;
  dispatch_floating("cross_entropy_backward", log_probs.dtype(), [&](auto zero) {
    using T = decltype(zero);
    cross_entropy_backward_kernel<T><<<grid_for(rows * classes), kThreads, 0, native(stream)>>>(
        ptr<T>(out), ptr<const T>(grad), ptr<const T>(log_probs), ptr<const std::int64_t>(labels),
        rows, classes, log_probs.strides()[0], log_probs.strides()[1], labels.strides()[0],
        static_cast<float>(rows));
    CUDA_LAUNCH_CHECK();
  });
}

void mse_loss(const CudaStream& stream, const Tensor& out, const Tensor& input,
              const Tensor& target) {
  const auto index = make_strided_index<2>(input.shape(), {input.strides(), target.strides()});
  dispatch_floating("mse_loss", input.dtype(), [&](auto zero) {
    using T = decltype(zero);
    mse_loss_kernel<T><<<1, kWideBlock, 0, native(stream)>>>(
        ptr<T>(out), ptr<const T>(input), ptr<const T>(target), index, input.numel());
    CUDA_LAUNCH_CHECK();
  });
}

void mse_loss_backward(const CudaStream& stream, const Tensor& out, const Tensor& grad,
                       const Tensor& input, const Tensor& target) {
  const std::int64_t n = input.numel();
  if (n == 0) return;
  const auto index =
      make_strided_index<3>(input.shape(), {out.strides(), input.strides(), target.strides()});
  dispatch_floating("mse_loss_backward", input.dtype(), [&](auto zero) {
    using T = decltype(zero);
    mse_loss_backward_kernel<T><<<grid_for(n), kThreads, 0, native(stream)>>>(
        ptr<T>(out), ptr<const T>(grad), ptr<const T>(input), ptr<const T>(target), index, n,
        static_cast<float>(n));
    CUDA_LAUNCH_CHECK();
  });
}

}  // namespace tally::ops::cuda
