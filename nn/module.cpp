#include "nn/module.h"

#include <optional>

#include "allocator/error.h"
#include "allocator/scope.h"
#include "autograd/checkpoint.h"
#include "autograd/variable.h"
#include "ops/elementwise.h"

namespace tally::nn {

Tensor Module::call(const Tensor& x, std::string_view scope) {
  if (scope.empty()) return forward(x);
  MemoryScope guard(scope);
  return forward(x);
}

Tensor& Module::register_parameter(std::string name, Tensor value) {
  value.storage()->retag(Tag::parameter);
  set_requires_grad(value);
  parameters_.emplace_back(std::move(name), std::move(value));
  return parameters_.back().second;
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
  std::vector<std::pair<std::string, Tensor>> out(parameters_.begin(), parameters_.end());
  for (const auto& [name, child] : children_) {
    for (auto& [path, tensor] : child->named_parameters()) {
      out.emplace_back(name + "." + path, std::move(tensor));
    }
  }
  return out;
}

std::vector<Tensor> Module::parameters() const {
  std::vector<Tensor> out;
  for (auto& [name, tensor] : named_parameters()) out.push_back(std::move(tensor));
  return out;
}

std::vector<std::pair<std::string, Tensor>> Module::convert_parameters(DType dtype) {
  if (dtype != DType::f16 && dtype != DType::bf16) {
    throw UsageError("convert_parameters: expected f16 or bf16, got " +
                     std::string(dtype_name(dtype)));
  }
  for (const auto& [name, tensor] : named_parameters()) {
    if (tensor.dtype() != DType::f32) {
      throw UsageError("convert_parameters: parameter '" + name + "' is " + tensor.describe() +
                       ", not f32");
    }
  }
  std::vector<std::pair<std::string, Tensor>> masters;
  convert_below(dtype, "", masters);
  return masters;
}

void Module::convert_below(DType dtype, const std::string& prefix,
                           std::vector<std::pair<std::string, Tensor>>& masters) {
  for (auto& [name, slot] : parameters_) {
    Tensor half;
    {
      // The root's own parameters belong to no module scope.
      std::optional<MemoryScope> scope;
      if (!prefix.empty()) scope.emplace(prefix.substr(0, prefix.size() - 1));
      half = Tensor::empty(slot.shape(), dtype, slot.device(), Tag::parameter);
    }
    ops::cast_into(half, slot);
    set_requires_grad(half);
    Tensor master = slot.detach();
    master.storage()->retag(Tag::optimizer);
    slot = std::move(half);
    masters.emplace_back(prefix + name, std::move(master));
  }
  for (const auto& [name, child] : children_) {
    child->convert_below(dtype, prefix + name + ".", masters);
  }
}

std::int64_t Module::parameter_count() const {
  std::int64_t count = 0;
  for (const auto& [name, tensor] : named_parameters()) count += tensor.numel();
  return count;
}

void Module::set_training(bool training) {
  training_ = training;
  for (auto& [name, child] : children_) child->set_training(training);
}

Tensor Sequential::forward(const Tensor& x) {
  Tensor out = x;
  if (segments_.empty()) {
    for (const auto& [name, child] : children()) out = child->call(out, name);
    return out;
  }
  const std::string here = scope_name(current_scope());
  for (const BlockSegment& segment : segments_) {
    const auto run = [this, segment](const std::vector<Tensor>& inputs) {
      Tensor y = inputs[0];
      for (std::int64_t i = segment.begin; i < segment.end; ++i) {
        y = blocks_[i].second->call(y, blocks_[i].first);
      }
      return y;
    };
    if (!segment.checkpointed) {
      out = run({out});
      continue;
    }
    std::string name = (here.empty() ? "" : here + ".") + blocks_[segment.begin].first;
    if (segment.end - segment.begin > 1) name += " to " + blocks_[segment.end - 1].first;
    out = checkpoint(run, {out}, std::move(name));
  }
  return out;
}

std::vector<std::pair<std::string, Module*>> Sequential::blocks() const {
  std::vector<std::pair<std::string, Module*>> out;
  for (const auto& [name, child] : children()) {
    if (const auto* inner = dynamic_cast<const Sequential*>(child.get())) {
      for (const auto& [path, block] : inner->blocks()) out.emplace_back(name + "." + path, block);
    } else {
      out.emplace_back(name, child.get());
    }
  }
  return out;
}

void Sequential::set_checkpoint(const CheckpointPolicy& policy) {
  std::vector<std::pair<std::string, Module*>> blocks = this->blocks();
  std::vector<BlockSegment> segments =
      plan_segments(policy, static_cast<std::int64_t>(blocks.size()));
  if (policy.kind == CheckpointPolicy::Kind::none) {
    blocks.clear();
    segments.clear();
  }
  blocks_ = std::move(blocks);
  segments_ = std::move(segments);
}

Sequential& checkpoint_target(Module& model) {
  for (const auto& [name, child] : model.children()) {
    if (name != "blocks") continue;
    if (auto* blocks = dynamic_cast<Sequential*>(child.get())) return *blocks;
  }
  if (auto* top = dynamic_cast<Sequential*>(&model)) return *top;
  throw UsageError("checkpointing: the model is not a Sequential of blocks");
}

}  // namespace tally::nn
