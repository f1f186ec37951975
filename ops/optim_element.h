// One element of the fused optimizer updates of ops/optim.h, written once for the CPU loops and
// the CUDA kernels so that the CPU results are the kernels' oracle: every value is widened to
// float, updated, and narrowed on store. P is the parameter's and its state's element type, G the
// gradient's: the same, or a 16-bit G beside an f32 P (master weights updated from 16-bit
// gradients, which are never copied to f32 as a whole).
#pragma once

#include <cmath>
#include <string>
#include <string_view>

#include "core/half.h"
#include "core/host_device.h"
#include "ops/op_util.h"
#include "ops/optim.h"

namespace tally::ops {

// Whether the updates take a gradient of dtype `grad` for a parameter of dtype `param`.
inline bool update_accepts(DType param, DType grad) {
  return is_floating(param) &&
         (grad == param || (param == DType::f32 && (grad == DType::f16 || grad == DType::bf16)));
}

// Calls f(P{}, G{}) for an accepted pair of dtypes (the caller has checked update_accepts).
template <typename F>
void dispatch_update(std::string_view op, DType param, DType grad, F&& f) {
  TALLY_CHECK(update_accepts(param, grad), std::string(op) + ": unchecked gradient dtype");
  if (grad == DType::f16 && param == DType::f32) return f(float{}, Half{});
  if (grad == DType::bf16 && param == DType::f32) return f(float{}, BFloat16{});
  dispatch_floating(op, param, [&](auto zero) { f(zero, zero); });
}

// buffer is null without momentum. The gradient is multiplied by grad_scale as it is read.
template <typename P, typename G>
TALLY_HD void sgd_element(P& param, G grad, P* buffer, const SgdOptions& o, bool first_step,
                          float grad_scale) {
  const float pv = to_float(param);
  float step = to_float(grad) * grad_scale + o.weight_decay * pv;
  if (buffer != nullptr) {
    const float b =
        first_step ? step : o.momentum * to_float(*buffer) + (1.0f - o.dampening) * step;
    *buffer = from_float<P>(b);
    step = o.nesterov ? step + o.momentum * b : b;
  }
  param = from_float<P>(pv - o.lr * step);
}

// What one AdamW step needs besides the tensors, the step-dependent terms computed on the host:
// step_size = lr / (1 - beta1^step), bias_correction2_sqrt = sqrt(1 - beta2^step),
// decay = 1 - lr * weight_decay.
struct AdamWStep {
  float beta1, beta2, eps, step_size, bias_correction2_sqrt, decay, grad_scale;
};

template <typename P, typename G>
TALLY_HD void adamw_element(P& param, G grad, P& exp_avg, P& exp_avg_sq, const AdamWStep& s) {
  const float gv = to_float(grad) * s.grad_scale;
  const float mv = s.beta1 * to_float(exp_avg) + (1.0f - s.beta1) * gv;
  const float vv = s.beta2 * to_float(exp_avg_sq) + (1.0f - s.beta2) * gv * gv;
  exp_avg = from_float<P>(mv);
  exp_avg_sq = from_float<P>(vv);
  const float denom = sqrtf(vv) / s.bias_correction2_sqrt + s.eps;
  param = from_float<P>(to_float(param) * s.decay - s.step_size * mv / denom);
}

}  // namespace tally::ops
