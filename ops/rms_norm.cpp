#include "ops/rms_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/elementwise.h"
#include "ops/op_util.h"
#include "ops/parallel.h"
#include "ops/transformer_cuda.h"

namespace tally::ops {
namespace {

void check_weight(std::string_view op, const Tensor& x, const Tensor& weight) {
  if (!weight.defined()) return;
  check_same_device(op, {&x, &weight});
  check_same_dtype(op, {&x, &weight});
  if (weight.dim() != 1 || weight.shape()[0] != x.shape().back()) {
    throw UsageError(std::string(op) + ": weight " + weight.describe() +
                     " does not match the last dimension of " + x.describe());
  }
}

std::int64_t rows_of(const Tensor& x) {
  return x.numel() / std::max<std::int64_t>(x.shape().back(), 1);
}

// The weight as f32 values (1 each when undefined), read once per kernel rather than through the
// tensor at every element.
template <typename T>
std::vector<float> weight_values(const Tensor& w, std::int64_t width) {
  std::vector<float> values(static_cast<std::size_t>(width), 1.0f);
  if (!w.defined()) return values;
  const T* data = static_cast<const T*>(w.raw_data());
  for (std::int64_t j = 0; j < width; ++j) values[j] = to_float(data[j * w.strides()[0]]);
  return values;
}

template <typename T>
void forward_kernel(const RmsNormResult& r, const Tensor& x, const Tensor& weight, float eps) {
  const std::int64_t width = x.shape().back(), rows = r.rstd.numel();
  const T* in = x.data<T>();
  T* out = r.output.data<T>();
  float* rstds = r.rstd.data<float>();
  const std::vector<float> w = weight_values<T>(weight, width);
  // Rows are independent: split between threads.
  parallel_for(rows, grain_for(3 * width), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const T* p = in + i * width;
      float squares = 0.0f;
      for (std::int64_t j = 0; j < width; ++j) squares += to_float(p[j]) * to_float(p[j]);
      const float rstd = 1.0f / std::sqrt(squares / static_cast<float>(width) + eps);
      rstds[i] = rstd;
      T* q = out + i * width;
      for (std::int64_t j = 0; j < width; ++j) q[j] = from_float<T>(to_float(p[j]) * rstd * w[j]);
    }
  });
}

// dx (when defined) and the f32 accumulator dw (when defined), for contiguous x and g.
template <typename T>
void backward_kernel(const Tensor& dx, const Tensor& dw, const Tensor& g, const Tensor& x,
                     const Tensor& rstd, const Tensor& weight) {
  const std::int64_t width = x.shape().back(), rows = rstd.numel();
  const float inv_width = 1.0f / static_cast<float>(width);
  const T* pg = g.data<T>();
  const T* px = x.data<T>();
  const float* rstds = rstd.data<float>();
  if (dx.defined()) {
    const std::vector<float> w = weight_values<T>(weight, width);
    T* pdx = dx.data<T>();
    // dx = rstd * (g' - xhat * mean(g' * xhat)), g' = g * weight, xhat = x * rstd, row by row.
    parallel_for(rows, grain_for(5 * width), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        const float s = rstds[i];
        const T* gi = pg + i * width;
        const T* xi = px + i * width;
        float sum_gx = 0.0f;
        for (std::int64_t j = 0; j < width; ++j) {
          sum_gx += to_float(gi[j]) * w[j] * to_float(xi[j]) * s;
        }
        T* out = pdx + i * width;
        for (std::int64_t j = 0; j < width; ++j) {
          const float gw = to_float(gi[j]) * w[j];
          out[j] = from_float<T>(s * (gw - to_float(xi[j]) * s * sum_gx * inv_width));
        }
      }
    });
  }
  if (!dw.defined()) return;
  // dw sums over rows: split by columns, each summed over the rows in order, so that the sums do
  // not depend on the thread count.
  float* pdw = dw.data<float>();
  parallel_for(width, grain_for(3 * rows), [&](std::int64_t begin, std::int64_t end) {
    std::fill(pdw + begin, pdw + end, 0.0f);
    for (std::int64_t i = 0; i < rows; ++i) {
      const float s = rstds[i];
      const T* gi = pg + i * width;
      const T* xi = px + i * width;
      for (std::int64_t j = begin; j < end; ++j) pdw[j] += to_float(gi[j]) * to_float(xi[j]) * s;
    }
  });
}

// An f32 accumulator for the weight gradient: the gradient itself when it is f32.
Tensor accumulator_for(const Tensor& out) {
  if (!out.defined() || out.dtype() == DType::f32) return out;
  return Tensor::empty(out.shape(), DType::f32, out.device());
}

}  // namespace

RmsNormResult rms_norm(const Tensor& x, const Tensor& weight, float eps) {
  constexpr std::string_view op = "rms_norm";
  check_defined(op, {&x});
  check_floating(op, x);
  if (x.dim() == 0)
    throw UsageError(std::string(op) + ": expected at least one dimension, got " + x.describe());
  check_weight(op, x, weight);
  const Tensor dense = x.contiguous();
  RmsNormResult r{Tensor::empty(x.shape(), x.dtype(), x.device()),
                  Tensor::empty({rows_of(x)}, DType::f32, x.device())};
  run_kernel(
      op, x.device(),
      [&] {
        dispatch_floating(op, x.dtype(), [&](auto zero) {
          forward_kernel<decltype(zero)>(r, dense, weight, eps);
        });
      },
      [&](const auto& stream) {
        cuda::rms_norm_forward(stream, r.output, r.rstd, dense, weight, eps);
      });
  return r;
}

RmsNormGrads rms_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& rstd,
                               const Tensor& weight, bool need_x, bool need_weight) {
  constexpr std::string_view op = "rms_norm_backward";
  check_same_device(op, {&grad, &x, &rstd});
  check_same_dtype(op, {&grad, &x});
  check_floating(op, x);
  if (x.dim() == 0 || grad.shape() != x.shape()) {
    throw UsageError(std::string(op) + ": gradient " + grad.describe() + " does not match input " +
                     x.describe());
  }
  if (rstd.dtype() != DType::f32 || rstd.shape() != Shape{rows_of(x)} || !rstd.is_contiguous()) {
    throw UsageError(std::string(op) + ": rstd " + rstd.describe() +
                     " is not a contiguous f32 value per row of " + x.describe());
  }
  check_weight(op, x, weight);
  const Tensor g = grad.contiguous(), dense = x.contiguous();
  RmsNormGrads out;
  if (need_x) out.x = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (need_weight) out.weight = Tensor::empty({x.shape().back()}, x.dtype(), x.device());
  const Tensor dw = accumulator_for(out.weight);
  run_kernel(
      op, x.device(),
      [&] {
        dispatch_floating(op, x.dtype(), [&](auto zero) {
          backward_kernel<decltype(zero)>(out.x, dw, g, dense, rstd, weight);
        });
        if (dw.defined() && dw.storage() != out.weight.storage()) cast_into(out.weight, dw);
      },
      [&](const auto& stream) {
        cuda::rms_norm_backward(stream, out.x, out.weight, dw, g, dense, rstd, weight);
      });
  return out;
}

}  // namespace tally::ops
