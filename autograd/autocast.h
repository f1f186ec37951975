// Autocast, as torch.autocast: inside an AutocastGuard, allow-listed ops (matmul, linear, conv2d)
// cast their floating inputs to the guard's 16-bit dtype and run in it (f32 accumulation inside
// the kernels), deny-listed ops (softmax, log_softmax, cross_entropy, mse_loss, layer_norm, sum,
// exp, log: those of PyTorch's f32 list that tally has; and rms_norm, a norm like layer_norm)
// cast 16-bit inputs to f32 and run in f32, and every other op, mean included as in PyTorch,
// follows its inputs.
// Parameters stay f32: each one a forward pass uses is cast once and its copy cached, tagged
// cast_cache, until the outermost guard ends; copies that a backward saved live on until that
// backward has run, as in PyTorch.
#pragma once

#include <optional>

#include "core/tensor.h"

namespace tally {

class AutocastGuard {
 public:
  // dtype: f16 or bf16 (a usage error otherwise).
  explicit AutocastGuard(DType dtype);
  // Restores the enclosing state; the outermost guard also drops the cache of parameter copies.
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  std::optional<DType> previous_;
};

// The dtype allow-listed ops run in on this thread, or nullopt outside autocast.
std::optional<DType> autocast_dtype();

// An allow-listed op's input: under autocast, a floating x of another dtype cast to the autocast
// dtype (a differentiable cast, in the trace); a leaf that requires a gradient (a parameter) is
// cast once per outermost guard and its copy reused. x itself otherwise.
Tensor autocast_lower(const Tensor& x);
// A deny-listed op's input: under autocast, a 16-bit x cast to f32; x itself otherwise.
Tensor autocast_f32(const Tensor& x);

// How many parameter copies the cache holds now (tests).
std::size_t autocast_cache_size();

}  // namespace tally
