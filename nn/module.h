// Module: named parameters (tagged parameter) and named submodules. A parent runs each child
// inside a MemoryScope named by the child's key, so allocations are attributed to paths such
// as "features.3".
#pragma once

#include <deque>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "core/tensor.h"
#include "nn/checkpoint_policy.h"

namespace tally::nn {

class Module {
 public:
  virtual ~Module() = default;
  virtual Tensor forward(const Tensor& x) = 0;
  // forward() inside a MemoryScope named `scope` (empty: no scope of its own).
  Tensor call(const Tensor& x, std::string_view scope);

  // Every parameter below this module, with its dotted path ("features.0.weight"), in
  // registration order.
  std::vector<std::pair<std::string, Tensor>> named_parameters() const;
  std::vector<Tensor> parameters() const;
  std::int64_t parameter_count() const;
  virtual std::string describe() const = 0;

  // Replaces every parameter below this module, in named_parameters() order, by a copy in `dtype`
  // (f16 or bf16): tagged parameter, requiring grad, allocated in its module's scope (the path
  // without the parameter's name, as the zoo builds it). Layers see the copies, since they point
  // into the module's own slots. Returns the f32 originals with their paths, detached and retagged
  // optimizer: the master weights for an Optimizer, at no extra f32 allocation, so the peak is
  // f32 + 16-bit, as with Apex. A dtype other than f16 or bf16, or any parameter not in f32 (a
  // model converted before), is a usage error, and the model is left as it was.
  std::vector<std::pair<std::string, Tensor>> convert_parameters(DType dtype);

  // The submodules, with their names, in registration order.
  const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& children() const {
    return children_;
  }

  void set_training(bool training);
  bool training() const { return training_; }

 protected:
  // Moves `value` into the module's storage as a parameter: tagged parameter, requires grad.
  Tensor& register_parameter(std::string name, Tensor value);
  template <typename M>
  M& register_module(std::string name, std::shared_ptr<M> module) {
    children_.emplace_back(std::move(name), module);
    return *module;
  }

 private:
  // convert_parameters() for the parameters whose paths begin with `prefix`, this module's path.
  void convert_below(DType dtype, const std::string& prefix,
                     std::vector<std::pair<std::string, Tensor>>& masters);

  std::deque<std::pair<std::string, Tensor>> parameters_;  // stable addresses for layers
  std::vector<std::pair<std::string, std::shared_ptr<Module>>> children_;
  bool training_ = true;
};

// Runs its children in order, each in a scope named by its key: its index, or the name given.
class Sequential : public Module {
 public:
  Sequential() = default;
  template <typename M>
  Sequential& add(std::shared_ptr<M> module) {
    register_module(std::to_string(children().size()), std::move(module));
    return *this;
  }
  template <typename M>
  Sequential& add(std::string name, std::shared_ptr<M> module) {
    register_module(std::move(name), std::move(module));
    return *this;
  }
  std::size_t size() const { return children().size(); }
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "Sequential"; }

  // The blocks checkpoint policies count: the children in order, each child that is itself a
  // Sequential replaced by its own blocks, with their paths below this module ("features.3").
  std::vector<std::pair<std::string, Module*>> blocks() const;
  // From now on, forward runs the blocks in the segments `policy` cuts them into, each
  // checkpointed segment through checkpoint() (autograd/checkpoint.h), each block in the scope of
  // its path as before. An invalid policy for this many blocks is a usage error.
  void set_checkpoint(const CheckpointPolicy& policy);

 private:
  std::vector<std::pair<std::string, Module*>> blocks_;  // empty: children run as they are
  std::vector<BlockSegment> segments_;
};

// The Sequential whose blocks a checkpoint policy counts in a zoo model: its child `blocks` when
// it has one (a model of repeated blocks, a transformer), otherwise the model itself when it is a
// Sequential. A usage error for any other model.
Sequential& checkpoint_target(Module& model);

}  // namespace tally::nn
