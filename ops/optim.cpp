#include "ops/optim.h"

#include <cmath>

#include "ops/nn_cuda.h"
#include "ops/op_util.h"

namespace tally::ops {
namespace {

void check_state(std::string_view op, const Tensor& param,
                 std::initializer_list<const Tensor*> state) {
  check_same_device(op, {&param});
  for (const Tensor* t : state) {
    check_same_device(op, {&param, t});
    check_same_dtype(op, {&param, t});
    if (t->shape() != param.shape() || !t->is_contiguous()) {
      throw UsageError(std::string(op) + ": state " + t->describe() + " does not match parameter " +
                       param.describe());
    }
  }
  if (!param.is_contiguous())
    throw UsageError(std::string(op) + ": parameter " + param.describe() + " is not contiguous");
}

}  // namespace

void sgd_update_(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                 bool first_step, const SgdOptions& o) {
  const bool momentum = o.momentum != 0.0f;
  if (momentum) {
    check_state("sgd", param, {&grad, &momentum_buffer});
  } else {
    check_state("sgd", param, {&grad});
  }
  run_kernel(
      "sgd", param.device(),
      [&] {
        dispatch_floating("sgd", param.dtype(), [&](auto zero) {
          using T = decltype(zero);
          T* p = param.data<T>();
          const T* g = grad.data<T>();
          T* buf = momentum ? momentum_buffer.data<T>() : nullptr;
          const std::int64_t n = param.numel();
          for (std::int64_t i = 0; i < n; ++i) {
            const float pv = to_float(p[i]);
            float step = to_float(g[i]) + o.weight_decay * pv;
            if (momentum) {
              const float b =
                  first_step ? step : o.momentum * to_float(buf[i]) + (1.0f - o.dampening) * step;
              buf[i] = from_float<T>(b);
              step = o.nesterov ? step + o.momentum * b : b;
            }
            p[i] = from_float<T>(pv - o.lr * step);
          }
        });
      },
      [&](const auto& stream) {
        cuda::sgd_update(stream, param, grad, momentum_buffer, first_step, o);
      });
}

void adamw_update_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                   const Tensor& exp_avg_sq, std::int64_t step, const AdamWOptions& o) {
  check_state("adamw", param, {&grad, &exp_avg, &exp_avg_sq});
  if (step < 1) throw UsageError("adamw: step must count from 1, got " + std::to_string(step));
  const auto t = static_cast<double>(step);
  const float step_size = o.lr / static_cast<float>(1.0 - std::pow(double(o.beta1), t));
  const float bias_correction2_sqrt =
      static_cast<float>(std::sqrt(1.0 - std::pow(double(o.beta2), t)));
  const float decay = 1.0f - o.lr * o.weight_decay;
  run_kernel(
      "adamw", param.device(),
      [&] {
        dispatch_floating("adamw", param.dtype(), [&](auto zero) {
          using T = decltype(zero);
          T* p = param.data<T>();
          const T* g = grad.data<T>();
          T* m = exp_avg.data<T>();
          T* v = exp_avg_sq.data<T>();
          const std::int64_t n = param.numel();
          for (std::int64_t i = 0; i < n; ++i) {
            const float gv = to_float(g[i]);
            const float mv = o.beta1 * to_float(m[i]) + (1.0f - o.beta1) * gv;
            const float vv = o.beta2 * to_float(v[i]) + (1.0f - o.beta2) * gv * gv;
            m[i] = from_float<T>(mv);
            v[i] = from_float<T>(vv);
            const float denom = std::sqrt(vv) / bias_correction2_sqrt + o.eps;
            p[i] = from_float<T>(to_float(p[i]) * decay - step_size * mv / denom);
          }
        });
      },
      [&](const auto& stream) {
        cuda::adamw_update(stream, param, grad, exp_avg, exp_avg_sq, o.beta1, o.beta2, o.eps,
                           step_size, bias_correction2_sqrt, decay);
      });
}

}  // namespace tally::ops
