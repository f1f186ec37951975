#include "nn/grad_scaler.h"

#include <cmath>
#include <string>

#include "allocator/error.h"
#include "allocator/scope.h"
#include "autograd/functions.h"
#include "ops/elementwise.h"
#include "ops/loss_scale.h"

namespace tally::nn {
namespace {

void check_options(const GradScalerOptions& o) {
  // Each range is written so that NaN, which fails every comparison, falls outside it.
  if (!(o.init_scale > 0.0f && std::isfinite(o.init_scale))) {
    throw UsageError("grad_scaler: init_scale must be positive and finite, got " +
                     std::to_string(o.init_scale));
  }
  if (!(o.growth_factor > 1.0f && std::isfinite(o.growth_factor))) {
    throw UsageError("grad_scaler: growth_factor must be above 1 and finite, got " +
                     std::to_string(o.growth_factor));
  }
  if (!(o.backoff_factor > 0.0f && o.backoff_factor < 1.0f)) {
    throw UsageError("grad_scaler: backoff_factor must be in (0, 1), got " +
                     std::to_string(o.backoff_factor));
  }
  if (o.growth_interval < 1) {
    throw UsageError("grad_scaler: growth_interval must be at least 1, got " +
                     std::to_string(o.growth_interval));
  }
}

}  // namespace

GradScaler::GradScaler(GradScalerOptions options) : options_(options), scale_(options.init_scale) {
  check_options(options_);
}

Tensor GradScaler::scale(const Tensor& loss) const {
  return mul(loss, scale_);
}

void GradScaler::unscale_(Optimizer& optimizer) {
  if (found_inf_.defined()) {
    throw UsageError("grad_scaler: unscale_() has already been called since the last update()");
  }
  const std::vector<Tensor> grads = optimizer.gradients();
  const Device device = grads.empty() ? optimizer.device() : grads.front().device();
  MemoryScope scope("grad_scaler");
  found_inf_ = Tensor::empty({1}, DType::f32, device);
  ops::fill_(found_inf_, 0.0f);
  // With the default factors the scale stays a power of two, and dividing by it is exact.
  const auto inv_scale = static_cast<float>(1.0 / static_cast<double>(scale_));
  if (optimizer.has_master_weights()) {
    ops::unscale_and_check_(grads, 1.0f, found_inf_);  // only checks
    optimizer.set_grad_scale(inv_scale);
  } else {
    ops::unscale_and_check_(grads, inv_scale, found_inf_);
  }
}

bool GradScaler::step(Optimizer& optimizer) {
  if (stepped_)
    throw UsageError("grad_scaler: step() has already been called since the last update()");
  if (!found_inf_.defined()) unscale_(optimizer);
  // sim holds no values: its steps never overflow.
  found_ = found_inf_.device().kind != DeviceKind::sim && found_inf_.item() != 0.0f;
  stepped_ = true;
  if (found_) {
    optimizer.set_grad_scale(1.0f);  // the skipped step leaves no scale for a later one
    ++skipped_steps_;
    return false;
  }
  optimizer.step();
  return true;
}

void GradScaler::update() {
  if (!stepped_) throw UsageError("grad_scaler: update() needs a step() since the last update()");
  if (found_) {
    scale_ *= options_.backoff_factor;
    growth_tracker_ = 0;
  } else if (++growth_tracker_ == options_.growth_interval) {
    const float grown = scale_ * options_.growth_factor;
    if (std::isfinite(grown)) scale_ = grown;
    growth_tracker_ = 0;
  }
  found_inf_ = Tensor();
  stepped_ = false;
  found_ = false;
}

}  // namespace tally::nn
