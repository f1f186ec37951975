#include "ops/layer_norm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include "ops/elementwise.h"
#include "ops/nn_cuda.h"
#include "ops/op_util.h"
#include "ops/parallel.h"

namespace tally::ops {
namespace {

void check_affine(std::string_view op, const Tensor& x, const Tensor& param, const char* what) {
  if (!param.defined()) return;
  check_same_device(op, {&x, &param});
  check_same_dtype(op, {&x, &param});
  if (param.dim() != 1 || param.shape()[0] != x.shape().back()) {
    throw UsageError(std::string(op) + ": " + std::string(what) + " " + param.describe() +
                     " does not match the last dimension of " + x.describe());
  }
}

// An optional 1-d parameter as f32 values (`absent` each when undefined), read once per kernel
// rather than through the tensor at every element.
template <typename T>
std::vector<float> param_values(const Tensor& p, std::int64_t width, float absent) {
  std::vector<float> values(static_cast<std::size_t>(width), absent);
  if (!p.defined()) return values;
  const T* data = static_cast<const T*>(p.raw_data());
  for (std::int64_t j = 0; j < width; ++j) values[j] = to_float(data[j * p.strides()[0]]);
  return values;
}

template <typename T>
void forward_kernel(const LayerNormResult& r, const Tensor& x, const Tensor& weight,
                    const Tensor& bias, float eps) {
  const std::int64_t width = x.shape().back(), rows = r.mean.numel();
  const T* in = x.data<T>();
  T* out = r.output.data<T>();
  float* means = r.mean.data<float>();
  float* rstds = r.rstd.data<float>();
  const std::vector<float> w = param_values<T>(weight, width, 1.0f);
  const std::vector<float> b = param_values<T>(bias, width, 0.0f);
  // Rows are independent: split between threads.
  parallel_for(rows, grain_for(4 * width), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) {
      const T* p = in + i * width;
      float sum = 0.0f;
      for (std::int64_t j = 0; j < width; ++j) sum += to_float(p[j]);
      const float mean = sum / static_cast<float>(width);
      float squares = 0.0f;
      for (std::int64_t j = 0; j < width; ++j) {
        const float d = to_float(p[j]) - mean;
        squares += d * d;
      }
      const float rstd = 1.0f / std::sqrt(squares / static_cast<float>(width) + eps);
      means[i] = mean;
      rstds[i] = rstd;
      T* q = out + i * width;
      for (std::int64_t j = 0; j < width; ++j) {
        q[j] = from_float<T>((to_float(p[j]) - mean) * rstd * w[j] + b[j]);
      }
    }
  });
}

// dx (when defined) and the f32 accumulators dw, db (when defined), for contiguous x and g.
template <typename T>
void backward_kernel(const Tensor& dx, const Tensor& dw, const Tensor& db, const Tensor& g,
                     const Tensor& x, const Tensor& mean, const Tensor& rstd,
                     const Tensor& weight) {
  const std::int64_t width = x.shape().back(), rows = mean.numel();
  const T* pg = g.data<T>();
  const T* px = x.data<T>();
  const float* means = mean.data<float>();
  const float* rstds = rstd.data<float>();
  const float inv_width = 1.0f / static_cast<float>(width);
  if (dx.defined()) {
    const std::vector<float> w = param_values<T>(weight, width, 1.0f);
    T* pdx = dx.data<T>();
    // dx = rstd * (g' - mean(g') - xhat * mean(g' * xhat)), g' = g * weight, row by row.
    parallel_for(rows, grain_for(6 * width), [&](std::int64_t begin, std::int64_t end) {
      for (std::int64_t i = begin; i < end; ++i) {
        const float m = means[i], s = rstds[i];
        const T* gi = pg + i * width;
        const T* xi = px + i * width;
        float sum_g = 0.0f, sum_gx = 0.0f;
        for (std::int64_t j = 0; j < width; ++j) {
          const float gw = to_float(gi[j]) * w[j];
          sum_g += gw;
          sum_gx += gw * (to_float(xi[j]) - m) * s;
        }
        T* out = pdx + i * width;
        for (std::int64_t j = 0; j < width; ++j) {
          const float gw = to_float(gi[j]) * w[j];
          const float xhat = (to_float(xi[j]) - m) * s;
          out[j] = from_float<T>(s * (gw - sum_g * inv_width - xhat * sum_gx * inv_width));
        }
      }
    });
  }
  if (!dw.defined() && !db.defined()) return;
  // dw and db sum over rows: split by columns, each summed over the rows in order, so that the
  // sums do not depend on the thread count.
  float* pdw = dw.defined() ? dw.data<float>() : nullptr;
  float* pdb = db.defined() ? db.data<float>() : nullptr;
  parallel_for(width, grain_for(4 * rows), [&](std::int64_t begin, std::int64_t end) {
    if (pdw) std::fill(pdw + begin, pdw + end, 0.0f);
    if (pdb) std::fill(pdb + begin, pdb + end, 0.0f);
    for (std::int64_t i = 0; i < rows; ++i) {
      const float m = means[i], s = rstds[i];
      const T* gi = pg + i * width;
      const T* xi = px + i * width;
      if (pdw) {
        for (std::int64_t j = begin; j < end; ++j)
          pdw[j] += to_float(gi[j]) * (to_float(xi[j]) - m) * s;
      }
      if (pdb) {
        for (std::int64_t j = begin; j < end; ++j) pdb[j] += to_float(gi[j]);
      }
    }
  });
}

// An f32 accumulator for a parameter gradient: the gradient itself when it is f32.
Tensor accumulator_for(const Tensor& out) {
  if (!out.defined() || out.dtype() == DType::f32) return out;
  return Tensor::empty(out.shape(), DType::f32, out.device());
}

}  // namespace

LayerNormResult layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps) {
  constexpr std::string_view op = "layer_norm";
  check_defined(op, {&x});
  check_floating(op, x);
  if (x.dim() == 0)
    throw UsageError(std::string(op) + ": expected at least one dimension, got " + x.describe());
  check_affine(op, x, weight, "weight");
  check_affine(op, x, bias, "bias");
  const Tensor dense = x.contiguous();
  const std::int64_t rows = x.numel() / std::max<std::int64_t>(x.shape().back(), 1);
  LayerNormResult r{Tensor::empty(x.shape(), x.dtype(), x.device()),
                    Tensor::empty({rows}, DType::f32, x.device()),
                    Tensor::empty({rows}, DType::f32, x.device())};
  run_kernel(
      op, x.device(),
      [&] {
        dispatch_floating(op, x.dtype(), [&](auto zero) {
          forward_kernel<decltype(zero)>(r, dense, weight, bias, eps);
        });
      },
      [&](const auto& stream) {
        cuda::layer_norm_forward(stream, r.output, r.mean, r.rstd, dense, weight, bias, eps);
      });
  return r;
}

LayerNormGrads layer_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& mean,
                                   const Tensor& rstd, const Tensor& weight, bool need_x,
                                   bool need_weight, bool need_bias) {
  constexpr std::string_view op = "layer_norm_backward";
  check_same_device(op, {&grad, &x, &mean, &rstd});
  check_same_dtype(op, {&grad, &x});
  check_affine(op, x, weight, "weight");
  if (grad.shape() != x.shape()) {
    throw UsageError(std::string(op) + ": gradient " + grad.describe() + " does not match input " +
                     x.describe());
  }
  const Tensor g = grad.contiguous(), dense = x.contiguous();
  const Shape width{x.shape().back()};
  LayerNormGrads out;
  if (need_x) out.x = Tensor::empty(x.shape(), x.dtype(), x.device());
  if (need_weight) out.weight = Tensor::empty(width, x.dtype(), x.device());
  if (need_bias) out.bias = Tensor::empty(width, x.dtype(), x.device());
  const Tensor dw = accumulator_for(out.weight), db = accumulator_for(out.bias);
  run_kernel(
      op, x.device(),
      [&] {
        dispatch_floating(op, x.dtype(), [&](auto zero) {
          backward_kernel<decltype(zero)>(out.x, dw, db, g, dense, mean, rstd, weight);
        });
        if (dw.defined() && dw.storage() != out.weight.storage()) cast_into(out.weight, dw);
        if (db.defined() && db.storage() != out.bias.storage()) cast_into(out.bias, db);
      },
      [&](const auto& stream) {
        cuda::layer_norm_backward(stream, out.x, out.weight, out.bias, dw, db, g, dense, mean, rstd,
                                  weight);
      });
  return out;
}

}  // namespace tally::ops
