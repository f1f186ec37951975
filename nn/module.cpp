#include "nn/module.h"

#include "allocator/scope.h"
#include "autograd/variable.h"

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
  for (const auto& [name, child] : children()) out = child->call(out, name);
  return out;
}

}  // namespace tally::nn
