#include "nn/layers.h"

#include <cmath>

#include "allocator/scope.h"
#include "autograd/conv_functions.h"
#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "ops/elementwise.h"
#include "ops/factory.h"

namespace tally::nn {
namespace {

// PyTorch's default for Linear and Conv2d (kaiming_uniform_ with a = sqrt(5), and the bias
// rule): both weight and bias uniform in +-1/sqrt(fan_in).
Tensor fan_in_uniform(Shape shape, std::int64_t fan_in, Device device) {
  const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
  return ops::uniform(std::move(shape), -bound, bound, device, Tag::parameter);
}

// N(0, std^2), scaled in place: one allocation, as PyTorch's normal_.
Tensor normal(Shape shape, float std, Device device) {
  Tensor t = ops::randn(std::move(shape), device, Tag::parameter);
  if (std != 1.0f) ops::axpby_(t, std, t, 0.0f);
  return t;
}

}  // namespace

Linear::Linear(std::int64_t in_features, std::int64_t out_features, bool bias, Device device,
               float normal_std)
    : in_(in_features), out_(out_features) {
  if (normal_std > 0.0f) {
    weight_ = &register_parameter("weight", normal({out_, in_}, normal_std, device));
    if (bias) {
      bias_ = &register_parameter("bias", ops::zeros({out_}, DType::f32, device, Tag::parameter));
    }
    return;
  }
  weight_ = &register_parameter("weight", fan_in_uniform({out_, in_}, in_, device));
  if (bias) bias_ = &register_parameter("bias", fan_in_uniform({out_}, in_, device));
}

Tensor Linear::forward(const Tensor& x) {
  return linear(x, *weight_, bias_ ? *bias_ : Tensor());
}

std::string Linear::describe() const {
  return "Linear(" + std::to_string(in_) + ", " + std::to_string(out_) + ")";
}

Conv2d::Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel,
               std::int64_t stride, std::int64_t padding, bool bias, Device device)
    : in_(in_channels), out_(out_channels), kernel_(kernel), stride_(stride), padding_(padding) {
  const std::int64_t fan_in = in_ * kernel_ * kernel_;
  weight_ =
      &register_parameter("weight", fan_in_uniform({out_, in_, kernel_, kernel_}, fan_in, device));
  if (bias) bias_ = &register_parameter("bias", fan_in_uniform({out_}, fan_in, device));
}

Tensor Conv2d::forward(const Tensor& x) {
  return conv2d(x, *weight_, bias_ ? *bias_ : Tensor(), stride_, padding_);
}

std::string Conv2d::describe() const {
  return "Conv2d(" + std::to_string(in_) + ", " + std::to_string(out_) + ", kernel " +
         std::to_string(kernel_) + ")";
}

Tensor MaxPool2d::forward(const Tensor& x) {
  return max_pool2d(x, kernel_, stride_);
}

std::string MaxPool2d::describe() const {
  return "MaxPool2d(" + std::to_string(kernel_) + ")";
}

Tensor ReLU::forward(const Tensor& x) {
  return relu(x);
}

Tensor GELU::forward(const Tensor& x) {
  return gelu(x);
}

Tensor Flatten::forward(const Tensor& x) {
  return flatten(x, 1);
}

LayerNorm::LayerNorm(std::int64_t dim, float eps, Device device) : dim_(dim), eps_(eps) {
  weight_ = &register_parameter("weight", ops::ones({dim}, DType::f32, device, Tag::parameter));
  bias_ = &register_parameter("bias", ops::zeros({dim}, DType::f32, device, Tag::parameter));
}

Tensor LayerNorm::forward(const Tensor& x) {
  return layer_norm(x, *weight_, *bias_, eps_);
}

std::string LayerNorm::describe() const {
  return "LayerNorm(" + std::to_string(dim_) + ")";
}

RMSNorm::RMSNorm(std::int64_t dim, float eps, Device device) : dim_(dim), eps_(eps) {
  weight_ = &register_parameter("weight", ops::ones({dim}, DType::f32, device, Tag::parameter));
}

Tensor RMSNorm::forward(const Tensor& x) {
  return rms_norm(x, *weight_, eps_);
}

std::string RMSNorm::describe() const {
  return "RMSNorm(" + std::to_string(dim_) + ")";
}

Embedding::Embedding(std::int64_t count, std::int64_t dim, Device device, float normal_std)
    : count_(count), dim_(dim) {
  weight_ = &register_parameter("weight", normal({count, dim}, normal_std, device));
}

Tensor Embedding::forward(const Tensor& indices) {
  return embedding(indices, *weight_);
}

std::string Embedding::describe() const {
  return "Embedding(" + std::to_string(count_) + ", " + std::to_string(dim_) + ")";
}

Tensor Dropout::forward(const Tensor& x) {
  return dropout(x, p_, training());
}

std::string Dropout::describe() const {
  return "Dropout(" + std::to_string(p_) + ")";
}

ResidualBlock::ResidualBlock(std::int64_t dim, float p, Device device) : dim_(dim), p_(p) {
  // Each layer's parameters are allocated in the scope of its path below this block's.
  {
    MemoryScope scope("fc1");
    register_module("fc1", std::make_shared<Linear>(dim, dim, true, device));
  }
  register_module("act", std::make_shared<ReLU>());
  register_module("dropout", std::make_shared<Dropout>(p));
  MemoryScope scope("fc2");
  register_module("fc2", std::make_shared<Linear>(dim, dim, true, device));
}

Tensor ResidualBlock::forward(const Tensor& x) {
  Tensor h = x;
  for (const auto& [name, layer] : children()) h = layer->call(h, name);
  return add(x, h);
}

std::string ResidualBlock::describe() const {
  return "ResidualBlock(" + std::to_string(dim_) + ", dropout " + std::to_string(p_) + ")";
}

}  // namespace tally::nn
