// Fused optimizer updates, in place, with PyTorch's update rules (torch.optim.SGD and AdamW).
// The parameter and its state share one floating dtype. The gradient has the parameter's dtype,
// or is f16 or bf16 beside an f32 parameter (master weights updated straight from the 16-bit
// gradients); each of its elements is read in f32 and multiplied by grad_scale (GradScaler's
// 1 / scale, for gradients left scaled) before anything else uses it.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace tally::ops {

struct SgdOptions {
  float lr = 0.01f;
  float momentum = 0.0f;
  float dampening = 0.0f;
  float weight_decay = 0.0f;
  bool nesterov = false;
};

// g' = grad_scale * grad + weight_decay * param; with momentum,
// buf = momentum * buf + (1 - dampening) * g' (buf = g' on the first step, signalled by
// first_step) and the step uses buf (or g' + momentum * buf when nesterov); param -= lr * step.
// `momentum_buffer` is unused (may be undefined) when momentum is 0.
void sgd_update_(const Tensor& param, const Tensor& grad, const Tensor& momentum_buffer,
                 bool first_step, const SgdOptions& options, float grad_scale = 1.0f);

struct AdamWOptions {
  float lr = 1e-3f;
  float beta1 = 0.9f;
  float beta2 = 0.999f;
  float eps = 1e-8f;
  float weight_decay = 1e-2f;
};

// g = grad_scale * grad; param *= 1 - lr * weight_decay; m = beta1 m + (1 - beta1) g;
// v = beta2 v + (1 - beta2) g^2; param -= lr / (1 - beta1^step) * m / (sqrt(v) /
// sqrt(1 - beta2^step) + eps). step counts from 1.
void adamw_update_(const Tensor& param, const Tensor& grad, const Tensor& exp_avg,
                   const Tensor& exp_avg_sq, std::int64_t step, const AdamWOptions& options,
                   float grad_scale = 1.0f);

}  // namespace tally::ops
