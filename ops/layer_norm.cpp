#include "ops/layer_norm.h"

#include <algorithm>
#include <cmath>

#include "ops/elementwise.h"
#include "ops/nn_cuda.h"
#include "ops/op_util.h"

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

// The i-th element of an optional 1-d parameter, or `absent`.
template <typename T>
float param_at(const Tensor& p, std::int64_t i, float absent) {
  return p.defined() ? to_float(static_cast<const T*>(p.raw_data())[i * p.strides()[0]]) : absent;
}

template <typename T>
void forward_kernel(const LayerNormResult& r, const Tensor& x, const Tensor& weight,
                    const Tensor& bias, float eps) {
  const std::int64_t width = x.shape().back(), rows = r.mean.numel();
  const T* in = x.data<T>();
  T* out = r.output.data<T>();
  for (std::int64_t i = 0; i < rows; ++i) {
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
    r.mean.data<float>()[i] = mean;
    r.rstd.data<float>()[i] = rstd;
    for (std::int64_t j = 0; j < width; ++j) {
      const float normed = (to_float(p[j]) - mean) * rstd;
      out[i * width + j] =
          from_float<T>(normed * param_at<T>(weight, j, 1.0f) + param_at<T>(bias, j, 0.0f));
    }
  }
}

// dx (when defined) and the f32 accumulators dw, db (when defined, zeroed), for contiguous x and g.
template <typename T>
void backward_kernel(const Tensor& dx, const Tensor& dw, const Tensor& db, const Tensor& g,
                     const Tensor& x, const Tensor& mean, const Tensor& rstd,
                     const Tensor& weight) {
  const std::int64_t width = x.shape().back(), rows = mean.numel();
  const T* pg = g.data<T>();
  const T* px = x.data<T>();
  const float inv_width = 1.0f / static_cast<float>(width);
  for (std::int64_t i = 0; i < rows; ++i) {
    const float m = mean.data<float>()[i], s = rstd.data<float>()[i];
    const T* gi = pg + i * width;
    const T* xi = px + i * width;
    if (dx.defined()) {
      // dx = rstd * (g' - mean(g') - xhat * mean(g' * xhat)), g' = g * weight.
      float sum_g = 0.0f, sum_gx = 0.0f;
      for (std::int64_t j = 0; j < width; ++j) {
        const float gw = to_float(gi[j]) * param_at<T>(weight, j, 1.0f);
        sum_g += gw;
        sum_gx += gw * (to_float(xi[j]) - m) * s;
      }
      T* out = dx.data<T>() + i * width;
      for (std::int64_t j = 0; j < width; ++j) {
        const float gw = to_float(gi[j]) * param_at<T>(weight, j, 1.0f);
        const float xhat = (to_float(xi[j]) - m) * s;
        out[j] = from_float<T>(s * (gw - sum_g * inv_width - xhat * sum_gx * inv_width));
      }
    }
    for (std::int64_t j = 0; j < width; ++j) {
      const float gj = to_float(gi[j]);
      if (dw.defined()) dw.data<float>()[j] += gj * (to_float(xi[j]) - m) * s;
      if (db.defined()) db.data<float>()[j] += gj;
    }
  }
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
        if (dw.defined()) fill_(dw, 0.0f);
        if (db.defined()) fill_(db, 0.0f);
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
