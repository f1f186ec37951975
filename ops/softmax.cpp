#include "ops/softmax.h"

#include <array>
#include <cmath>
#include <type_traits>

#include "ops/cpu_math.h"
#include "ops/functors.h"
#include "ops/op_util.h"
#include "ops/parallel.h"
#include "ops/reduce_cuda.h"

namespace tally::ops {
namespace {

// Calls line(base) once per line of `shape` along `dim`, lines split between threads: operand k's
// j-th element on a line is at base[k] + j * strides[k][dim]. A line costs `cost` per element.
template <std::size_t N, typename Line>
void for_each_line(const Shape& shape, std::int64_t dim, const std::array<Shape, N>& strides,
                   std::int64_t cost, Line&& line) {
  if (shape[dim] == 0) return;
  Shape outer = shape;
  outer[dim] = 1;
  std::array<std::span<const std::int64_t>, N> spans;
  for (std::size_t k = 0; k < N; ++k) spans[k] = strides[k];
  parallel_strided_loop<N>(outer, spans, grain_for(cost * shape[dim]),
                           [&](const std::array<std::int64_t, N>& at, std::int64_t n,
                               const std::array<std::int64_t, N>& step) {
                             for (std::int64_t i = 0; i < n; ++i) {
                               std::array<std::int64_t, N> base;
                               for (std::size_t k = 0; k < N; ++k) base[k] = at[k] + i * step[k];
                               line(base);
                             }
                           });
}

template <typename T>
void softmax_kernel(const Tensor& out, const Tensor& x, std::int64_t dim, bool log) {
  T* o = out.data<T>();
  const T* in = static_cast<const T*>(x.raw_data());
  const std::int64_t extent = x.shape()[dim];
  const std::int64_t so = out.strides()[dim], sx = x.strides()[dim];
  // An f32 softmax keeps each exponential in the output between its two passes; a 16-bit one
  // could not hold it exactly, so computes it again.
  constexpr bool keep = std::is_same_v<T, float>;
  for_each_line<2>(x.shape(), dim, {out.strides(), x.strides()}, keep || log ? 16 : 32,
                   [&](const std::array<std::int64_t, 2>& base) {
                     const T* p = in + base[1];
                     T* q = o + base[0];
                     const float top = max_of(p, extent, sx);
                     float total = 0.0f;
                     if (log) {
                       for (std::int64_t j = 0; j < extent; ++j)
                         total += fn::exp(to_float(p[j * sx]) - top);
                       const float shift = top + std::log(total);
                       for (std::int64_t j = 0; j < extent; ++j) {
                         q[j * so] = from_float<T>(to_float(p[j * sx]) - shift);
                       }
                       return;
                     }
                     if constexpr (keep) {
                       for (std::int64_t j = 0; j < extent; ++j) {
                         const float e = fn::exp(p[j * sx] - top);
                         q[j * so] = e;
                         total += e;
                       }
                       const float inv = 1.0f / total;
                       for (std::int64_t j = 0; j < extent; ++j) q[j * so] *= inv;
                     } else {
                       for (std::int64_t j = 0; j < extent; ++j)
                         total += fn::exp(to_float(p[j * sx]) - top);
                       const float inv = 1.0f / total;
                       for (std::int64_t j = 0; j < extent; ++j) {
                         q[j * so] = from_float<T>(fn::exp(to_float(p[j * sx]) - top) * inv);
                       }
                     }
                   });
}

template <typename T>
void softmax_backward_kernel(const Tensor& out, const Tensor& grad, const Tensor& y,
                             std::int64_t dim, bool log) {
  T* o = out.data<T>();
  const T* pg = static_cast<const T*>(grad.raw_data());
  const T* py = static_cast<const T*>(y.raw_data());
  const std::int64_t extent = y.shape()[dim];
  const std::int64_t so = out.strides()[dim], sg = grad.strides()[dim], sy = y.strides()[dim];
  for_each_line<3>(y.shape(), dim, {out.strides(), grad.strides(), y.strides()}, log ? 16 : 2,
                   [&](const std::array<std::int64_t, 3>& base) {
                     T* q = o + base[0];
                     const T* g = pg + base[1];
                     const T* v = py + base[2];
                     float total = 0.0f;
                     for (std::int64_t j = 0; j < extent; ++j) {
                       const float gj = to_float(g[j * sg]);
                       total += log ? gj : gj * to_float(v[j * sy]);
                     }
                     for (std::int64_t j = 0; j < extent; ++j) {
                       const float gj = to_float(g[j * sg]), yj = to_float(v[j * sy]);
                       q[j * so] =
                           from_float<T>(log ? gj - fn::exp(yj) * total : yj * (gj - total));
                     }
                   });
}

Tensor softmax_forward(const Tensor& x, std::int64_t dim, bool log) {
  const std::string_view op = log ? "log_softmax" : "softmax";
  check_defined(op, {&x});
  check_floating(op, x);
  dim = x.wrap_dim(dim, op);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  run_kernel(
      op, x.device(),
      [&] {
        dispatch_floating(op, x.dtype(),
                          [&](auto zero) { softmax_kernel<decltype(zero)>(out, x, dim, log); });
      },
      [&](const auto& stream) { cuda::softmax(stream, out, x, dim, log); });
  return out;
}

Tensor backward(const Tensor& grad, const Tensor& y, std::int64_t dim, bool log) {
  const std::string_view op = log ? "log_softmax_backward" : "softmax_backward";
  check_same_device(op, {&grad, &y});
  check_same_dtype(op, {&grad, &y});
  check_floating(op, y);
  if (grad.shape() != y.shape()) {
    throw UsageError(std::string(op) + ": gradient " + grad.describe() + " does not match output " +
                     y.describe());
  }
  dim = y.wrap_dim(dim, op);
  Tensor out = Tensor::empty(y.shape(), y.dtype(), y.device());
  run_kernel(
      op, y.device(),
      [&] {
        dispatch_floating(op, y.dtype(), [&](auto zero) {
          softmax_backward_kernel<decltype(zero)>(out, grad, y, dim, log);
        });
      },
      [&](const auto& stream) { cuda::softmax_backward(stream, out, grad, y, dim, log); });
  return out;
}

}  // namespace

Tensor softmax(const Tensor& x, std::int64_t dim) {
  return softmax_forward(x, dim, false);
}

Tensor log_softmax(const Tensor& x, std::int64_t dim) {
  return softmax_forward(x, dim, true);
}

Tensor softmax_backward(const Tensor& grad, const Tensor& y, std::int64_t dim) {
  return backward(grad, y, dim, false);
}

Tensor log_softmax_backward(const Tensor& grad, const Tensor& y, std::int64_t dim) {
  return backward(grad, y, dim, true);
}

}  // namespace tally::ops
