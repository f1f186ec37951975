// RMS normalisation over the last dimension (Llama's RMSNorm), with an optional elementwise
// weight, and its backward math. As layer_norm does, the forward also returns each row's
// reciprocal root mean square (f32, one per row) for the backward to reuse.
#pragma once

#include "core/tensor.h"

namespace tally::ops {

struct RmsNormResult {
  Tensor output;  // x's shape and dtype
  Tensor rstd;    // f32 [rows], rows = numel / x.shape().back(): 1 / sqrt(mean(x^2) + eps)
};
// x * rstd * weight over the last dimension D, computed in f32; weight ([D], x's dtype) may be
// undefined.
RmsNormResult rms_norm(const Tensor& x, const Tensor& weight, float eps = 1e-6f);

struct RmsNormGrads {
  Tensor x;
  Tensor weight;
};
// Gradients of rms_norm from the forward's input and rstd; each only when asked for.
RmsNormGrads rms_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& rstd,
                               const Tensor& weight, bool need_x, bool need_weight);

}  // namespace tally::ops
