#include "nn/optimizer.h"

#include "allocator/scope.h"
#include "autograd/grad_mode.h"
#include "autograd/variable.h"
#include "ops/elementwise.h"

namespace tally::nn {
namespace {

Tensor zero_state(const Tensor& like) {
  Tensor t = Tensor::empty(like.shape(), like.dtype(), like.device(), Tag::optimizer);
  ops::fill_(t, 0.0f);
  return t;
}

}  // namespace

Optimizer::Optimizer(NamedParameters parameters) {
  for (auto& [name, tensor] : parameters) {
    const std::size_t dot = name.rfind('.');
    scopes_.push_back(dot == std::string::npos ? std::string() : name.substr(0, dot));
    parameters_.push_back(std::move(tensor));
  }
}

void Optimizer::zero_grad() {
  for (Tensor& p : parameters_) tally::zero_grad(p);
}

std::vector<Tensor> Optimizer::gradients() const {
  std::vector<Tensor> grads;
  for (const Tensor& p : parameters_) {
    Tensor g = grad(p);
    if (g.defined()) grads.push_back(std::move(g));
  }
  return grads;
}

Device Optimizer::device() const {
  return parameters_.empty() ? Device::cpu() : parameters_.front().device();
}

SGD::SGD(NamedParameters parameters, ops::SgdOptions options)
    : Optimizer(std::move(parameters)), options_(options), momentum_(parameters_.size()) {}

void SGD::step() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const Tensor g = grad(parameters_[i]);
    if (!g.defined()) continue;
    const bool first = options_.momentum != 0.0f && !momentum_[i].defined();
    if (first) {
      MemoryScope scope(scope_of(i));
      momentum_[i] = Tensor::empty(g.shape(), g.dtype(), g.device(), Tag::optimizer);
    }
    ops::sgd_update_(parameters_[i], g, momentum_[i], first, options_);
  }
}

AdamW::AdamW(NamedParameters parameters, ops::AdamWOptions options)
    : Optimizer(std::move(parameters)),
      options_(options),
      exp_avg_(parameters_.size()),
      exp_avg_sq_(parameters_.size()),
      steps_(parameters_.size(), 0) {}

void AdamW::step() {
  NoGradGuard no_grad;
  for (std::size_t i = 0; i < parameters_.size(); ++i) {
    const Tensor g = grad(parameters_[i]);
    if (!g.defined()) continue;
    if (!exp_avg_[i].defined()) {
      MemoryScope scope(scope_of(i));
      exp_avg_[i] = zero_state(parameters_[i]);
      exp_avg_sq_[i] = zero_state(parameters_[i]);
    }
    ops::adamw_update_(parameters_[i], g, exp_avg_[i], exp_avg_sq_[i], ++steps_[i], options_);
  }
}

}  // namespace tally::nn
