#include "ops/pool.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <utility>

#include "ops/op_util.h"
#include "ops/parallel.h"
#include "ops/pool_cuda.h"

namespace tally::ops {
namespace {

struct PoolGeometry {
  std::int64_t n, c, h, w;  // input
  std::int64_t oh, ow;      // output
  std::int64_t kernel, stride, padding;

  Shape output_shape() const { return {n, c, oh, ow}; }
};

PoolGeometry geometry(std::string_view op, const Shape& x, std::int64_t kernel, std::int64_t stride,
                      std::int64_t padding) {
  if (stride == 0) stride = kernel;
  const std::string what = "input " + shape_str(x) + " with kernel " + std::to_string(kernel) +
                           ", stride " + std::to_string(stride) + " and padding " +
                           std::to_string(padding);
  if (x.size() != 4)
    throw UsageError(std::string(op) + ": expected input [N, C, H, W], got " + what);
  if (kernel <= 0 || stride <= 0 || padding < 0 || padding > kernel / 2) {
    throw UsageError(std::string(op) + ": " + what +
                     ": kernel and stride must be positive, padding at most half the kernel");
  }
  if (kernel > x[2] + 2 * padding || kernel > x[3] + 2 * padding) {
    throw UsageError(std::string(op) + ": " + what + ": kernel larger than the padded input");
  }
  PoolGeometry g{x[0], x[1], x[2], x[3], 0, 0, kernel, stride, padding};
  g.oh = (g.h + 2 * padding - kernel) / stride + 1;
  g.ow = (g.w + 2 * padding - kernel) / stride + 1;
  return g;
}

void check_grad(std::string_view op, const Tensor& grad, const PoolGeometry& g) {
  check_defined(op, {&grad});
  check_floating(op, grad);
  if (grad.shape() != g.output_shape()) {
    throw UsageError(std::string(op) + ": gradient " + grad.describe() +
                     " does not match the pooled shape " + shape_str(g.output_shape()));
  }
}

// The input rows (or columns) [lo, hi) that output position o's window covers.
std::pair<std::int64_t, std::int64_t> window(std::int64_t o, std::int64_t in,
                                             const PoolGeometry& g) {
  const std::int64_t start = o * g.stride - g.padding;
  return {std::max<std::int64_t>(start, 0), std::min(start + g.kernel, in)};
}

// The output positions [lo, hi) whose windows cover input position i.
std::pair<std::int64_t, std::int64_t> covering(std::int64_t i, std::int64_t out,
                                               const PoolGeometry& g) {
  const std::int64_t first = i + g.padding - g.kernel + 1;
  const std::int64_t lo = first <= 0 ? 0 : (first + g.stride - 1) / g.stride;
  return {lo, std::min((i + g.padding) / g.stride + 1, out)};
}

// One [H, W] plane of a 4-d tensor, read through its strides.
template <typename T>
struct Plane {
  const T* base;
  std::int64_t row, col;
  T operator()(std::int64_t i, std::int64_t j) const { return base[i * row + j * col]; }
};

template <typename T>
Plane<T> plane(const Tensor& t, std::int64_t n, std::int64_t c) {
  const Shape& s = t.strides();
  return {static_cast<const T*>(t.raw_data()) + n * s[0] + c * s[1], s[2], s[3]};
}

// Calls f(n, c, dst) for every plane, dst being that plane of the contiguous `out`. Planes are
// independent, each `cost` units of work: they are split between threads.
template <typename T, typename F>
void for_each_plane(const Tensor& out, std::int64_t cost, F&& f) {
  const std::int64_t channels = out.shape()[1], area = out.shape()[2] * out.shape()[3];
  T* base = out.data<T>();
  parallel_for(out.shape()[0] * channels, grain_for(cost),
               [&](std::int64_t begin, std::int64_t end) {
                 for (std::int64_t p = begin; p < end; ++p) {
                   f(p / channels, p % channels, base + p * area);
                 }
               });
}

// Output row oh of one plane of max_pool2d, for any geometry and strides.
template <typename T>
void max_pool_row(const Plane<T>& in, const PoolGeometry& g, std::int64_t oh, T* dst,
                  std::int64_t* at) {
  const auto [h0, h1] = window(oh, g.h, g);
  for (std::int64_t ow = 0; ow < g.ow; ++ow) {
    const auto [w0, w1] = window(ow, g.w, g);
    float best = -std::numeric_limits<float>::infinity();
    std::int64_t best_at = h0 * g.w + w0;
    for (std::int64_t h = h0; h < h1; ++h) {
      for (std::int64_t w = w0; w < w1; ++w) {
        const float v = to_float(in(h, w));
        if (v > best || std::isnan(v)) {
          best = v;
          best_at = h * g.w + w;
        }
      }
    }
    dst[ow] = from_float<T>(best);
    if (at) at[ow] = best_at;
  }
}

// max_pool_row for kernel 2, stride 2, no padding and unit-stride rows: the usual pooling layer.
// The generic loop's data-dependent branch mispredicts on post-ReLU inputs, full of ties at 0;
// here the first maximum's position comes from comparisons turned into integers instead, in
// loops free of branches that the compiler vectorizes. NaN breaks the comparisons, so a row
// holding one returns false, for max_pool_row to redo.
template <typename T>
bool max_pool_row_2x2(const Plane<T>& in, const PoolGeometry& g, std::int64_t oh, T* dst,
                      std::int64_t* at) {
  const T* top = in.base + 2 * oh * in.row;
  const T* bottom = top + in.row;
  const std::int64_t outs = g.ow;
  int unordered = 0;
  for (std::int64_t ow = 0; ow < outs; ++ow) {
    const float a = to_float(top[2 * ow]), b = to_float(top[2 * ow + 1]);
    const float c = to_float(bottom[2 * ow]), d = to_float(bottom[2 * ow + 1]);
    unordered |= std::isunordered(a, b) | std::isunordered(c, d);
    dst[ow] = from_float<T>(std::max(std::max(a, b), std::max(c, d)));
  }
  if (unordered) return false;
  if (!at) return true;
  // In locals: the compiler must assume stores through `at` may change g's fields.
  const std::int64_t width = g.w, first = 2 * oh * g.w;
  for (std::int64_t ow = 0; ow < outs; ++ow) {
    const float a = to_float(top[2 * ow]), b = to_float(top[2 * ow + 1]);
    const float c = to_float(bottom[2 * ow]), d = to_float(bottom[2 * ow + 1]);
    // Ties go to the top row, then to the left column, as in window order.
    const int down = std::max(a, b) < std::max(c, d);
    const int right = (down & (c < d)) | (!down & (a < b));
    at[ow] = first + down * width + 2 * ow + right;
  }
  return true;
}

}  // namespace

MaxPoolResult max_pool2d(const Tensor& x, std::int64_t kernel, std::int64_t stride,
                         std::int64_t padding, bool with_indices) {
  check_defined("max_pool2d", {&x});
  check_floating("max_pool2d", x);
  const PoolGeometry g = geometry("max_pool2d", x.shape(), kernel, stride, padding);
  MaxPoolResult r{
      Tensor::empty(g.output_shape(), x.dtype(), x.device()),
      with_indices ? Tensor::empty(g.output_shape(), DType::i64, x.device()) : Tensor()};
  const bool pairs = g.kernel == 2 && g.stride == 2 && g.padding == 0 && x.strides()[3] == 1;
  run_kernel(
      "max_pool2d", x.device(),
      [&] {
        dispatch_floating("max_pool2d", x.dtype(), [&](auto zero) {
          using T = decltype(zero);
          const std::int64_t area = g.oh * g.ow;
          std::int64_t* indices = with_indices ? r.indices.data<std::int64_t>() : nullptr;
          for_each_plane<T>(r.values, g.h * g.w, [&](std::int64_t n, std::int64_t c, T* dst) {
            const Plane<T> in = plane<T>(x, n, c);
            std::int64_t* at = indices ? indices + (n * g.c + c) * area : nullptr;
            for (std::int64_t oh = 0; oh < g.oh; ++oh) {
              T* row_dst = dst + oh * g.ow;
              std::int64_t* row_at = at ? at + oh * g.ow : nullptr;
              if (!pairs || !max_pool_row_2x2(in, g, oh, row_dst, row_at)) {
                max_pool_row(in, g, oh, row_dst, row_at);
              }
            }
          });
        });
      },
      [&](const auto& stream) {
        cuda::max_pool2d_forward(stream, r.values, r.indices, x, g.kernel, g.stride, g.padding);
      });
  return r;
}

Tensor max_pool2d_backward(const Tensor& grad, const Tensor& indices, const Shape& input_shape,
                           std::int64_t kernel, std::int64_t stride, std::int64_t padding) {
  const PoolGeometry g = geometry("max_pool2d_backward", input_shape, kernel, stride, padding);
  check_grad("max_pool2d_backward", grad, g);
  check_same_device("max_pool2d_backward", {&grad, &indices});
  if (indices.dtype() != DType::i64 || indices.shape() != g.output_shape()) {
    throw UsageError("max_pool2d_backward: indices " + indices.describe() +
                     " do not match gradient " + grad.describe());
  }
  Tensor dx = Tensor::empty(input_shape, grad.dtype(), grad.device());
  run_kernel(
      "max_pool2d_backward", grad.device(),
      [&] {
        dispatch_floating("max_pool2d_backward", grad.dtype(), [&](auto zero) {
          using T = decltype(zero);
          const std::int64_t area = g.h * g.w;
          for_each_plane<T>(
              dx, g.h * g.w + g.oh * g.ow, [&](std::int64_t n, std::int64_t c, T* dst) {
                std::fill(dst, dst + area, from_float<T>(0.0f));
                const Plane<T> gp = plane<T>(grad, n, c);
                const Plane<std::int64_t> ip = plane<std::int64_t>(indices, n, c);
                for (std::int64_t oh = 0; oh < g.oh; ++oh) {
                  for (std::int64_t ow = 0; ow < g.ow; ++ow) {
                    const std::int64_t at = ip(oh, ow);
                    if (at < 0 || at >= area) {
                      throw UsageError("max_pool2d_backward: index " + std::to_string(at) +
                                       " outside input " + shape_str(input_shape));
                    }
                    dst[at] = from_float<T>(to_float(dst[at]) + to_float(gp(oh, ow)));
                  }
                }
              });
        });
      },
      [&](const auto& stream) {
        cuda::max_pool2d_backward(stream, dx, grad, indices, g.kernel, g.stride, g.padding);
      });
  return dx;
}

Tensor avg_pool2d(const Tensor& x, std::int64_t kernel, std::int64_t stride, std::int64_t padding) {
  check_defined("avg_pool2d", {&x});
  check_floating("avg_pool2d", x);
  const PoolGeometry g = geometry("avg_pool2d", x.shape(), kernel, stride, padding);
  Tensor out = Tensor::empty(g.output_shape(), x.dtype(), x.device());
  run_kernel(
      "avg_pool2d", x.device(),
      [&] {
        dispatch_floating("avg_pool2d", x.dtype(), [&](auto zero) {
          using T = decltype(zero);
          const float scale = 1.0f / static_cast<float>(g.kernel * g.kernel);
          for_each_plane<T>(out, g.oh * g.ow * g.kernel * g.kernel,
                            [&](std::int64_t n, std::int64_t c, T* dst) {
                              const Plane<T> in = plane<T>(x, n, c);
                              for (std::int64_t oh = 0; oh < g.oh; ++oh) {
                                const auto [h0, h1] = window(oh, g.h, g);
                                for (std::int64_t ow = 0; ow < g.ow; ++ow) {
                                  const auto [w0, w1] = window(ow, g.w, g);
                                  float acc = 0.0f;
                                  for (std::int64_t h = h0; h < h1; ++h) {
                                    for (std::int64_t w = w0; w < w1; ++w)
                                      acc += to_float(in(h, w));
                                  }
                                  dst[oh * g.ow + ow] = from_float<T>(acc * scale);
                                }
                              }
                            });
        });
      },
      [&](const auto& stream) {
        cuda::avg_pool2d_forward(stream, out, x, g.kernel, g.stride, g.padding);
      });
  return out;
}

Tensor avg_pool2d_backward(const Tensor& grad, const Shape& input_shape, std::int64_t kernel,
                           std::int64_t stride, std::int64_t padding) {
  const PoolGeometry g = geometry("avg_pool2d_backward", input_shape, kernel, stride, padding);
  check_grad("avg_pool2d_backward", grad, g);
  Tensor dx = Tensor::empty(input_shape, grad.dtype(), grad.device());
  run_kernel(
      "avg_pool2d_backward", grad.device(),
      [&] {
        dispatch_floating("avg_pool2d_backward", grad.dtype(), [&](auto zero) {
          using T = decltype(zero);
          const float scale = 1.0f / static_cast<float>(g.kernel * g.kernel);
          for_each_plane<T>(dx, g.h * g.w * g.kernel * g.kernel,
                            [&](std::int64_t n, std::int64_t c, T* dst) {
                              const Plane<T> gp = plane<T>(grad, n, c);
                              for (std::int64_t h = 0; h < g.h; ++h) {
                                const auto [oh0, oh1] = covering(h, g.oh, g);
                                for (std::int64_t w = 0; w < g.w; ++w) {
                                  const auto [ow0, ow1] = covering(w, g.ow, g);
                                  float acc = 0.0f;
                                  for (std::int64_t oh = oh0; oh < oh1; ++oh) {
                                    for (std::int64_t ow = ow0; ow < ow1; ++ow)
                                      acc += to_float(gp(oh, ow));
                                  }
                                  dst[h * g.w + w] = from_float<T>(acc * scale);
                                }
                              }
                            });
        });
      },
      [&](const auto& stream) {
        cuda::avg_pool2d_backward(stream, dx, grad, g.kernel, g.stride, g.padding);
      });
  return dx;
}

}  // namespace tally::ops
