// Pooling kernels (contracts in ops/pool_cuda.h). Each thread computes one element with the CPU
// kernel's loop for it (ops/pool.cpp): the same windows, the same order, the same roundings.
#include <cmath>

#include "allocator/cuda_check.h"
#include "core/strided_index.cuh"
#include "ops/op_util.h"
#include "ops/pool_cuda.h"

namespace tally::ops::cuda {
namespace {

struct Geometry {
  std::int64_t n, c, h, w;  // input
  std::int64_t oh, ow;      // output
  std::int64_t kernel, stride, padding;
};

Geometry geometry(const Shape& input, const Shape& output, std::int64_t kernel, std::int64_t stride,
                  std::int64_t padding) {
  return {input[0], input[1], input[2], input[3], output[2], output[3], kernel, stride, padding};
}

// A 4-d tensor read through its strides.
template <typename T>
struct View4 {
  const T* data;
  std::int64_t s0, s1, s2, s3;

  __device__ T at(std::int64_t n, std::int64_t c, std::int64_t i, std::int64_t j) const {
    return data[n * s0 + c * s1 + i * s2 + j * s3];
  }
};

template <typename T>
View4<T> view_of(const Tensor& t) {
  const Shape& s = t.strides();
  return {static_cast<const T*>(t.raw_data()), s[0], s[1], s[2], s[3]};
}

// The digits of a row-major index into [N, channels, rows, cols].
struct Position {
  std::int64_t n, c, i, j;
};

__device__ Position position(std::int64_t linear, std::int64_t channels, std::int64_t rows,
                             std::int64_t cols) {
  Position p;
  p.j = linear % cols;
  linear /= cols;
  p.i = linear % rows;
  linear /= rows;
  p.c = linear % channels;
  p.n = linear / channels;
  return p;
}

// The input rows (or columns) [lo, hi) that output position o's window covers.
__device__ void window(std::int64_t o, std::int64_t in, const Geometry& g, std::int64_t& lo,
                       std::int64_t& hi) {
  const std::int64_t start = o * g.stride - g.padding;
  lo = start > 0 ? start : 0;
  hi = start + g.kernel < in ? start + g.kernel : in;
}

// The output positions [lo, hi) whose windows cover input position i.
__device__ void covering(std::int64_t i, std::int64_t out, const Geometry& g, std::int64_t& lo,
                         std::int64_t& hi) {
  const std::int64_t first = i + g.padding - g.kernel + 1;
  lo = first <= 0 ? 0 : (first + g.stride - 1) / g.stride;
  const std::int64_t last = (i + g.padding) / g.stride + 1;
  hi = last < out ? last : out;
}

__device__ std::int64_t thread_index() {
  return blockIdx.x * std::int64_t{blockDim.x} + threadIdx.x;
}
__device__ std::int64_t grid_stride() {
  return std::int64_t{gridDim.x} * blockDim.x;
}

template <typename T>
__global__ void max_pool_forward_kernel(T* values, std::int64_t* indices, View4<T> x, Geometry g,
                                        std::int64_t total) {
  for (std::int64_t i = thread_index(); i < total; i += grid_stride()) {
    const Position p = position(i, g.c, g.oh, g.ow);
    std::int64_t h0, h1, w0, w1;
    window(p.i, g.h, g, h0, h1);
    window(p.j, g.w, g, w0, w1);
    float best = -INFINITY;
    std::int64_t best_at = h0 * g.w + w0;
    for (std::int64_t h = h0; h < h1; ++h) {
      for (std::int64_t w = w0; w < w1; ++w) {
        const float v = to_float(x.at(p.n, p.c, h, w));
        if (v > best || isnan(v)) {
          best = v;
          best_at = h * g.w + w;
        }
      }
    }
    values[i] = from_float<T>(best);
    if (indices != nullptr) indices[i] = best_at;
  }
}

template <typename T>
__global__ void max_pool_backward_kernel(T* dx, View4<T> grad, View4<std::int64_t> indices,
                                         Geometry g, std::int64_t total) {
  for (std::int64_t i = thread_index(); i < total; i += grid_stride()) {
    const Position p = position(i, g.c, g.h, g.w);
    std::int64_t oh0, oh1, ow0, ow1;
    covering(p.i, g.oh, g, oh0, oh1);
    covering(p.j, g.ow, g, ow0, ow1);
    const std::int64_t self = p.i * g.w + p.j;
    T sum = from_float<T>(0.0f);
    for (std::int64_t oh = oh0; oh < oh1; ++oh) {
      for (std::int64_t ow = ow0; ow < ow1; ++ow) {
        if (indices.at(p.n, p.c, oh, ow) == self) {
          sum = from_float<T>(to_float(sum) + to_float(grad.at(p.n, p.c, oh, ow)));
        }
      }
    }
    dx[i] = sum;
  }
}

template <typename T>
__global__ void avg_pool_forward_kernel(T* out, View4<T> x, Geometry g, float scale,
                                        std::int64_t total) {
  for (std::int64_t i = thread_index(); i < total; i += grid_stride()) {
    const Position p = position(i, g.c, g.oh, g.ow);
    std::int64_t h0, h1, w0, w1;
    window(p.i, g.h, g, h0, h1);
    window(p.j, g.w, g, w0, w1);
    float acc = 0.0f;
    for (std::int64_t h = h0; h < h1; ++h) {
      for (std::int64_t w = w0; w < w1; ++w) acc += to_float(x.at(p.n, p.c, h, w));
    }
    out[i] = from_float<T>(acc * scale);
  }
}

template <typename T>
__global__ void avg_pool_backward_kernel(T* dx, View4<T> grad, Geometry g, float scale,
                                         std::int64_t total) {
  for (std::int64_t i = thread_index(); i < total; i += grid_stride()) {
    const Position p = position(i, g.c, g.h, g.w);
    std::int64_t oh0, oh1, ow0, ow1;
    covering(p.i, g.oh, g, oh0, oh1);
    covering(p.j, g.ow, g, ow0, ow1);
    float acc = 0.0f;
    for (std::int64_t oh = oh0; oh < oh1; ++oh) {
      for (std::int64_t ow = ow0; ow < ow1; ++ow) acc += to_float(grad.at(p.n, p.c, oh, ow));
    }
    dx[i] = from_float<T>(acc * scale);
  }
}

cudaStream_t stream_of(const CudaStream& stream) {
  return static_cast<cudaStream_t>(stream.handle);
}

void check_dense(std::string_view op, const Tensor& out) {
  TALLY_CHECK(out.is_contiguous(),
              std::string(op) + ": expected a contiguous output, got " + out.describe());
}

// The divisor every window of avg_pool2d takes, computed as the CPU computes it.
float window_scale(std::int64_t kernel) {
  return 1.0f / static_cast<float>(kernel * kernel);
}

}  // namespace

void max_pool2d_forward(const CudaStream& stream, const Tensor& values, const Tensor& indices,
                        const Tensor& x, std::int64_t kernel, std::int64_t stride,
                        std::int64_t padding) {
  check_dense("max_pool2d", values);
  if (indices.defined()) check_dense("max_pool2d", indices);
  const std::int64_t total = values.numel();
  if (total == 0) return;
  const Geometry g = geometry(x.shape(), values.shape(), kernel, stride, padding);
  auto* at = indices.defined() ? static_cast<std::int64_t*>(indices.raw_data()) : nullptr;
  dispatch_floating("max_pool2d", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    max_pool_forward_kernel<T><<<grid_for(total), kThreads, 0, stream_of(stream)>>>(
        static_cast<T*>(values.raw_data()), at, view_of<T>(x), g, total);
    CUDA_LAUNCH_CHECK();
  });
}

void max_pool2d_backward(const CudaStream& stream, const Tensor& dx, const Tensor& grad,
                         const Tensor& indices, std::int64_t kernel, std::int64_t stride,
                         std::int64_t padding) {
  check_dense("max_pool2d_backward", dx);
  const std::int64_t total = dx.numel();
  if (total == 0) return;
  const Geometry g = geometry(dx.shape(), grad.shape(), kernel, stride, padding);
  dispatch_floating("max_pool2d_backward", dx.dtype(), [&](auto zero) {
    using T = decltype(zero);
    max_pool_backward_kernel<T><<<grid_for(total), kThreads, 0, stream_of(stream)>>>(
        static_cast<T*>(dx.raw_data()), view_of<T>(grad), view_of<std::int64_t>(indices), g, total);
    CUDA_LAUNCH_CHECK();
  });
}

void avg_pool2d_forward(const CudaStream& stream, const Tensor& out, const Tensor& x,
                        std::int64_t kernel, std::int64_t stride, std::int64_t padding) {
  check_dense("avg_pool2d", out);
  const std::int64_t total = out.numel();
  if (total == 0) return;
  const Geometry g = geometry(x.shape(), out.shape(), kernel, stride, padding);
  dispatch_floating("avg_pool2d", x.dtype(), [&](auto zero) {
    using T = decltype(zero);
    avg_pool_forward_kernel<T><<<grid_for(total), kThreads, 0, stream_of(stream)>>>(
        static_cast<T*>(out.raw_data()), view_of<T>(x), g, window_scale(kernel), total);
    CUDA_LAUNCH_CHECK();
  });
}

void avg_pool2d_backward(const CudaStream& stream, const Tensor& dx, const Tensor& grad,
                         std::int64_t kernel, std::int64_t stride, std::int64_t padding) {
  check_dense("avg_pool2d_backward", dx);
  const std::int64_t total = dx.numel();
  if (total == 0) return;
  const Geometry g = geometry(dx.shape(), grad.shape(), kernel, stride, padding);
  dispatch_floating("avg_pool2d_backward", dx.dtype(), [&](auto zero) {
    using T = decltype(zero);
    avg_pool_backward_kernel<T><<<grid_for(total), kThreads, 0, stream_of(stream)>>>(
        static_cast<T*>(dx.raw_data()), view_of<T>(grad), g, window_scale(kernel), total);
    CUDA_LAUNCH_CHECK();
  });
}

}  // namespace tally::ops::cuda
