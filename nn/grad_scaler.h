// Dynamic loss scaling with torch.cuda.amp.GradScaler's semantics and defaults, for the fp16
// arrangements: the loss is multiplied by the scale before backward so that small gradients
// survive f16's range; the gradients are divided by it again, in one fused unscale-and-check that
// raises one flag when any of them is inf or NaN; a step with such a gradient is skipped
// (parameters and optimizer state untouched) and the scale backs off; after growth_interval
// steps in a row without one, the scale grows. The flag is read once per step: the one host
// synchronisation the scaler adds.
#pragma once

#include <cstdint>

#include "core/tensor.h"
#include "nn/optimizer.h"

namespace tally::nn {

struct GradScalerOptions {
  float init_scale = 65536.0f;  // 2^16
  float growth_factor = 2.0f;
  float backoff_factor = 0.5f;
  std::int64_t growth_interval = 2000;
};

class GradScaler {
 public:
  // Throws a usage error for an init_scale that is not positive and finite, a growth factor not
  // above 1, a backoff factor outside (0, 1) or a growth interval below 1.
  explicit GradScaler(GradScalerOptions options = {});

  // loss * scale, differentiable: backward from it gives gradients multiplied by the scale.
  Tensor scale(const Tensor& loss) const;
  // Divides the optimizer's gradients by the scale in place and records whether any is inf or
  // NaN. At most once between two update()s: a second call is a usage error, as in PyTorch.
  // For an optimizer with master weights the 16-bit gradients are only checked and stay scaled
  // (PyTorch refuses to unscale f16 gradients: small ones would flush to zero); the optimizer's
  // next step divides them as it reads them in f32 (Optimizer::set_grad_scale).
  void unscale_(Optimizer& optimizer);
  // unscale_ if not yet done this step, then optimizer.step() unless a gradient was inf or NaN.
  // Returns whether it stepped. Once between two update()s.
  bool step(Optimizer& optimizer);
  // Backs the scale off after a skipped step, or grows it after growth_interval good steps in a
  // row (never to inf); then a new step may begin. Requires a step() since the last update().
  void update();

  float get_scale() const { return scale_; }
  // Good steps in a row since the scale last changed (PyTorch's growth tracker).
  std::int64_t growth_tracker() const { return growth_tracker_; }
  std::int64_t skipped_steps() const { return skipped_steps_; }

 private:
  GradScalerOptions options_;
  float scale_;
  std::int64_t growth_tracker_ = 0;
  std::int64_t skipped_steps_ = 0;
  // This step's flag (one f32 on the gradients' device, as PyTorch's found_inf), from unscale_
  // to update().
  Tensor found_inf_;
  bool stepped_ = false;
  bool found_ = false;
};

}  // namespace tally::nn
