#include "nn/optimizer.h"

#include "allocator/error.h"
#include "allocator/scope.h"
#include "autograd/grad_mode.h"
#include "autograd/variable.h"
#include "ops/elementwise.h"

namespace tally::nn {
namespace {

void check_master(const std::string& name, const Tensor& parameter, const std::string& path,
                  const Tensor& master) {
  if (path != name) {
    throw UsageError("optimizer: master '" + path + "' given for parameter '" + name + "'");
  }
  if (master.dtype() != DType::f32 || master.shape() != parameter.shape() ||
      master.device() != parameter.device() || !master.is_contiguous()) {
    throw UsageError("optimizer: master " + master.describe() + " of '" + name +
                     "' is not a contiguous f32 copy of " + parameter.describe());
  }
}

}  // namespace

Optimizer::Optimizer(NamedParameters parameters, NamedParameters masters,
                     std::vector<Tensor> gradients)
    : gradients_(std::move(gradients)) {
  const auto check_count = [&](std::size_t n, const char* what) {
    if (n != 0 && n != parameters.size()) {
      throw UsageError("optimizer: " + std::to_string(n) + " " + what + " for " +
                       std::to_string(parameters.size()) + " parameters");
    }
  };
  check_count(masters.size(), "master weights");
  check_count(gradients_.size(), "gradients");
  for (std::size_t i = 0; i < parameters.size(); ++i) {
    auto& [name, tensor] = parameters[i];
    if (!masters.empty()) {
      check_master(name, tensor, masters[i].first, masters[i].second);
      masters_.push_back(std::move(masters[i].second));
    }
    if (!gradients_.empty() &&
        (gradients_[i].shape() != tensor.shape() || gradients_[i].device() != tensor.device())) {
      throw UsageError("optimizer: gradient " + gradients_[i].describe() + " given for '" + name +
                       "', " + tensor.describe());
    }
    const std::size_t dot = name.rfind('.');
    scopes_.push_back(dot == std::string::npos ? std::string() : name.substr(0, dot));
    names_.push_back(name);
    parameters_.push_back(std::move(tensor));
  }
}

NamedParameters Optimizer::master_weights() const {
  NamedParameters named;
  for (std::size_t i = 0; i < masters_.size(); ++i) named.emplace_back(names_[i], masters_[i]);
  return named;
}

Tensor Optimizer::gradient(std::size_t i) const {
  return gradients_.empty() ? grad(parameters_[i]) : gradients_[i];
}

void Optimizer::step() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const Tensor g = gradient(i);
    if (!g.defined()) continue;
    if (masters_.empty()) {
      update(i, parameters_[i], g, grad_scale_);
    } else {
      update(i, masters_[i], g, grad_scale_);
      ops::cast_into(parameters_[i], masters_[i]);
    }
  }
  grad_scale_ = 1.0f;
}

void Optimizer::zero_grad() {
  for (Tensor& p : parameters_) tally::zero_grad(p);
}

std::vector<Tensor> Optimizer::gradients() const {
  std::vector<Tensor> grads;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    Tensor g = gradient(i);
    if (g.defined()) grads.push_back(std::move(g));
  }
  return grads;
}

Device Optimizer::device() const {
  return parameters_.empty() ? Device::cpu() : parameters_.front().device();
}

Tensor Optimizer::new_state(std::size_t i, const Tensor& target, bool zeroed) const {
  MemoryScope scope(scope_of(i));
  Tensor t = Tensor::empty(target.shape(), target.dtype(), target.device(), Tag::optimizer);
  if (zeroed) ops::fill_(t, 0.0f);
  return t;
}

SGD::SGD(NamedParameters parameters, ops::SgdOptions options, NamedParameters masters,
         std::vector<Tensor> gradients)
    : Optimizer(std::move(parameters), std::move(masters), std::move(gradients)),
      options_(options),
      momentum_(parameter_count()) {}

void SGD::update(std::size_t i, const Tensor& target, const Tensor& g, float grad_scale) {
  const bool first = options_.momentum != 0.0f && !momentum_[i].defined();
  if (first) momentum_[i] = new_state(i, target, false);  // the first step writes it whole
  ops::sgd_update_(target, g, momentum_[i], first, options_, grad_scale);
}

AdamW::AdamW(NamedParameters parameters, ops::AdamWOptions options, NamedParameters masters,
             std::vector<Tensor> gradients)
    : Optimizer(std::move(parameters), std::move(masters), std::move(gradients)),
      options_(options),
      exp_avg_(parameter_count()),
      exp_avg_sq_(parameter_count()),
      steps_(parameter_count(), 0) {}

void AdamW::update(std::size_t i, const Tensor& target, const Tensor& g, float grad_scale) {
  if (!exp_avg_[i].defined()) {
    exp_avg_[i] = new_state(i, target, true);
    exp_avg_sq_[i] = new_state(i, target, true);
  }
  ops::adamw_update_(target, g, exp_avg_[i], exp_avg_sq_[i], ++steps_[i], options_, grad_scale);
}

}  // namespace tally::nn
