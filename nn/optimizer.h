// Optimizers with PyTorch's semantics. State (momentum buffers, Adam moments) is allocated at
// the first step, as PyTorch does, tagged optimizer.
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
  // the scope of its module, so the memory report attributes it there.
  explicit Optimizer(NamedParameters parameters);
  virtual ~Optimizer() = default;
  // Updates every parameter that has a gradient, with grad mode off.
  virtual void step() = 0;
  // Drops every gradient, freeing its memory (PyTorch's set_to_none=True).
  void zero_grad();
  // The gradients step() would use: those of the parameters that have one, in order.
  std::vector<Tensor> gradients() const;
  // Where the parameters live (cpu for an optimizer without any).
  Device device() const;

 protected:
  // The scope path of parameter i's module ("layers.1" for "layers.1.weight").
  const std::string& scope_of(std::size_t i) const { return scopes_[i]; }

  std::vector<Tensor> parameters_;

 private:
  std::vector<std::string> scopes_;
};

class SGD : public Optimizer {
 public:
  SGD(NamedParameters parameters, ops::SgdOptions options);
  void step() override;

 private:
  ops::SgdOptions options_;
  std::vector<Tensor> momentum_;  // per parameter; undefined until its first step
};

class AdamW : public Optimizer {
 public:
  AdamW(NamedParameters parameters, ops::AdamWOptions options);
  void step() override;

 private:
  ops::AdamWOptions options_;
  std::vector<Tensor> exp_avg_, exp_avg_sq_;
  std::vector<std::int64_t> steps_;
};

}  // namespace tally::nn
