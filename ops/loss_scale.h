// The unscale step of dynamic loss scaling (FP16 training), as PyTorch's
// _amp_foreach_non_finite_check_and_unscale_: gradients computed from a loss multiplied by a scale
// are divided by it in place, and one flag records whether any of them overflowed.
#pragma once

#include <cstdint>
#include <span>

#include "core/dtype.h"
#include "core/half.h"
#include "core/tensor.h"

namespace tally::ops {

// Multiplies every element of `tensors` (floating, contiguous, on found_inf's device) by
// inv_scale in place, and sets found_inf (a caller-owned f32 tensor of one element) to 1 when any
// element is inf or NaN before or after scaling; found_inf is left as it was otherwise, so one
// flag can gather several calls. With inv_scale 1 the tensors are only read: the check alone, for
// 16-bit gradients that stay scaled because the optimizer divides them as it reads them (master
// weights). Nothing is read back: the caller reads found_inf (item() waits for the device). sim
// does nothing.
void unscale_and_check_(std::span<const Tensor> tensors, float inv_scale, const Tensor& found_inf);

// Whether a float is inf or NaN, by its exponent bits (immune to fast-math assumptions).
TALLY_HD bool non_finite(float v) {
  return (float_bits(v) & 0x7f800000u) == 0x7f800000u;
}

// One element's unscale, shared by the CPU loop and the CUDA kernel: x *= inv_scale, returning
// whether x was non-finite before or became so once stored in T. Multiplying by 1 changes no
// value, so x is then not written.
template <typename T>
TALLY_HD bool unscale_element(T& x, float inv_scale) {
  const float v = to_float(x);
  if (inv_scale == 1.0f) return non_finite(v);
  x = from_float<T>(v * inv_scale);
  return non_finite(v) || non_finite(to_float(x));
}

}  // namespace tally::ops
