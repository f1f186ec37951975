// Layer normalisation over the last dimension, with an optional elementwise affine transform, and
// its backward math. As in PyTorch, the forward also returns each row's mean and reciprocal
// standard deviation (f32, one per row) for the backward to reuse.
#pragma once

#include "core/tensor.h"

namespace tally::ops {

struct LayerNormResult {
  Tensor output;  // x's shape and dtype
  Tensor mean;    // f32 [rows], rows = numel / x.shape().back()
  Tensor rstd;    // f32 [rows], 1 / sqrt(biased variance + eps)
};
// (x - mean) * rstd * weight + bias over the last dimension D; weight and bias ([D], x's dtype)
// may each be undefined.
LayerNormResult layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias,
                           float eps = 1e-5f);

struct LayerNormGrads {
  Tensor x;
  Tensor weight;
  Tensor bias;
};
// Gradients of layer_norm from the forward's input, mean and rstd; each only when asked for.
LayerNormGrads layer_norm_backward(const Tensor& grad, const Tensor& x, const Tensor& mean,
                                   const Tensor& rstd, const Tensor& weight, bool need_x,
                                   bool need_weight, bool need_bias);

}  // namespace tally::ops
