#include "ops/optim.h"

#include <cmath>

#include "ops/nn_cuda.h"
#include "ops/op_util.h"
#include "ops/optim_element.h"
#include "ops/parallel.h"

namespace tally::ops {
namespace {

// The state has the parameter's shape and dtype; the gradient its shape and an accepted dtype
// (ops/optim_element.h); all contiguous on one device.
void check_update(std::string_view op, const Tensor& param, const Tensor& grad,
                  std::initializer_list<const Tensor*> state) {
  check_same_device(op, {&param, &grad});
  for (const Tensor* t : state) {
    check_same_device(op, {&param, t});
    check_same_dtype(op, {&param, t});
  }
  if (!param.is_contiguous())
    throw UsageError(std::string(op) + ": parameter " + param.describe() + " is not contiguous");
  if (!update_accepts(param.dtype(), grad.dtype())) {
    throw UsageError(std::string(op) + ": gradient " + grad.describe() +
                     " does not suit parameter " + param.describe() +
                     " (expected its dtype, or f16 or bf16 beside f32)");
  }
  if (grad.shape() != param.shape() || !grad.is_contiguous()) {
    throw UsageError(std::string(op) + ": gradient " + grad.describe() +
                     " does not match parameter " + param.describe());
  }
  for (const Tensor* t : state) {
    if (t->shape() != param.shape() || !t->is_contiguous()) {
      throw UsageError(std::string(op) + ": state " + t->describe() + " does not match parameter " +
                       param.describe());
    }
  }
}

}  // namespace

void sgd_update_(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                 bool first_step, const SgdOptions& o, float grad_scale) {
  const bool momentum = o.momentum != 0.0f;
  if (momentum) {
    check_update("sgd", param, grad, {&momentum_buffer});
  } else {
    check_update("sgd", param, grad, {});
  }
  run_kernel(
      "sgd", param.device(),
      [&] {
        dispatch_update("sgd", param.dtype(), grad.dtype(), [&](auto p_zero, auto g_zero) {
          using P = decltype(p_zero);
          using G = decltype(g_zero);
          P* p = param.data<P>();
          const G* g = grad.data<G>();
          P* buf = momentum ? momentum_buffer.data<P>() : nullptr;
          // Elements update independently: split between threads.
          parallel_for(param.numel(), grain_for(2), [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t i = begin; i < end; ++i) {
              sgd_element(p[i], g[i], buf ? buf + i : nullptr, o, first_step, grad_scale);
            }
          });
        });
      },
      [&](const auto& stream) {
        cuda::sgd_update(stream, param, grad, momentum_buffer, first_step, o, grad_scale);
      });
}

void adamw_update_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                   const Tensor& exp_avg_sq, std::int64_t step, const AdamWOptions& o,
                   float grad_scale) {
  check_update("adamw", param, grad, {&exp_avg, &exp_avg_sq});
  if (step < 1) throw UsageError("adamw: step must count from 1, got " + std::to_string(step));
  const auto t = static_cast<double>(step);
  const AdamWStep s{o.beta1,
                    o.beta2,
                    o.eps,
                    o.lr / static_cast<float>(1.0 - std::pow(double(o.beta1), t)),
                    static_cast<float>(std::sqrt(1.0 - std::pow(double(o.beta2), t))),
                    1.0f - o.lr * o.weight_decay,
                    grad_scale};
  run_kernel(
      "adamw", param.device(),
      [&] {
        dispatch_update("adamw", param.dtype(), grad.dtype(), [&](auto p_zero, auto g_zero) {
          using P = decltype(p_zero);
          using G = decltype(g_zero);
          P* p = param.data<P>();
          const G* g = grad.data<G>();
          P* m = exp_avg.data<P>();
          P* v = exp_avg_sq.data<P>();
          // Elements update independently: split between threads (a square root and a division
          // each).
          parallel_for(param.numel(), grain_for(8), [&](std::int64_t begin, std::int64_t end) {
            for (std::int64_t i = begin; i < end; ++i) adamw_element(p[i], g[i], m[i], v[i], s);
          });
        });
      },
      [&](const auto& stream) { cuda::adamw_update(stream, param, grad, exp_avg, exp_avg_sq, s); });
}

}  // namespace tally::ops
