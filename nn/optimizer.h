// Optimizers with PyTorch's semantics. State (momentum buffers, Adam moments) is allocated at
// the first step, as PyTorch does, tagged optimizer.
//
// With master weights (the fp16 and bf16 arrangements, Apex O2 / Megatron style) the model's
// parameters and gradients are 16-bit and the optimizer holds an f32 master copy of each
// parameter (tagged optimizer, Module::convert_parameters() hands them over): a step updates the
// master from the 16-bit gradient, read in f32 as it goes (no f32 copy of the gradients is ever
// made), with state in f32 shaped like it, then writes the master into the parameter.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "ops/optim.h"

namespace tally::nn {

using NamedParameters = std::vector<std::pair<std::string, Tensor>>;

class Optimizer {
 public:
  // Parameters with their paths (Module::named_parameters()): each one's state is allocated in
  // the scope of its module, so the memory report attributes it there. `masters` is empty, or
  // one f32 tensor per parameter with its path and shape, in the same order, on its device.
  // `gradients` is empty (each parameter's gradient is its autograd gradient), or one tensor per
  // parameter, shaped like it, that step() reads instead: ZeRO-1 updates pieces of parameters
  // from pieces of its reduced buckets. A mismatch is a usage error.
  explicit Optimizer(NamedParameters parameters, NamedParameters masters = {},
                     std::vector<Tensor> gradients = {});
  virtual ~Optimizer() = default;
  // Updates every parameter that has a gradient (through its master when there are masters),
  // with grad mode off, then sets the gradient scale back to 1.
  void step();
  // Drops every gradient, freeing its memory (PyTorch's set_to_none=True).
  void zero_grad();
  // The gradients step() would use: those of the parameters that have one, in order.
  std::vector<Tensor> gradients() const;
  // Where the parameters live (cpu for an optimizer without any).
  Device device() const;
  bool has_master_weights() const { return !masters_.empty(); }
  // The master weights with their parameters' paths (empty without them).
  NamedParameters master_weights() const;
  // The next step() multiplies every gradient element by `scale` as it reads it: how GradScaler
  // unscales the gradients of an optimizer with master weights, which stay scaled in 16 bits
  // (dividing them in place could flush small ones to zero).
  void set_grad_scale(float scale) { grad_scale_ = scale; }
  float grad_scale() const { return grad_scale_; }

 protected:
  // Updates `target` (parameter i, or its master) from gradient `g`, scaled by grad_scale.
  virtual void update(std::size_t i, const Tensor& target, const Tensor& g, float grad_scale) = 0;
  std::size_t parameter_count() const { return parameters_.size(); }
  // The scope path of parameter i's module ("layers.1" for "layers.1.weight").
  const std::string& scope_of(std::size_t i) const { return scopes_[i]; }
  // A new state tensor shaped like `target` (its dtype, on its device), tagged optimizer, in
  // parameter i's module scope; zeroed when `zeroed`.
  Tensor new_state(std::size_t i, const Tensor& target, bool zeroed) const;
  // Parameter i's gradient: given at construction, else its autograd gradient (may be undefined).
  Tensor gradient(std::size_t i) const;

 private:
  std::vector<Tensor> parameters_;
  std::vector<Tensor> masters_;    // empty, or one per parameter
  std::vector<Tensor> gradients_;  // empty, or one per parameter, read instead of grad()
  std::vector<std::string> names_;
  std::vector<std::string> scopes_;
  float grad_scale_ = 1.0f;
};

class SGD : public Optimizer {
 public:
  SGD(NamedParameters parameters, ops::SgdOptions options, NamedParameters masters = {},
      std::vector<Tensor> gradients = {});

 private:
  void update(std::size_t i, const Tensor& target, const Tensor& g, float grad_scale) override;

  ops::SgdOptions options_;
  std::vector<Tensor> momentum_;  // per parameter; undefined until its first step
};

class AdamW : public Optimizer {
 public:
  AdamW(NamedParameters parameters, ops::AdamWOptions options, NamedParameters masters = {},
        std::vector<Tensor> gradients = {});

 private:
  void update(std::size_t i, const Tensor& target, const Tensor& g, float grad_scale) override;

  ops::AdamWOptions options_;
  std::vector<Tensor> exp_avg_, exp_avg_sq_;
  std::vector<std::int64_t> steps_;
};

}  // namespace tally::nn
