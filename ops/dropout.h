// Dropout on the Philox stream: element i (row-major) of x is kept when the i-th uniform of the
// draw is above p, and kept elements are scaled by 1 / (1 - p). The draw takes (numel + 3) / 4
// blocks of default_generator() on every device, sim included, so that the same seed gives the
// same mask and restoring the generator's state replays it bit for bit.
#pragma once

#include "core/tensor.h"

namespace tally::ops {

struct DropoutResult {
  Tensor output;
  Tensor mask;  // u8, x's shape: 1 where kept
  float scale;  // 1 / (1 - p)
};
// p in [0, 1).
DropoutResult dropout(const Tensor& x, float p);
// grad * mask * scale.
Tensor dropout_backward(const Tensor& grad, const Tensor& mask, float scale);

}  // namespace tally::ops
