// The layers of the model zoo, with PyTorch's default initialisation drawn from tally's
// seeded generator.
#pragma once

#include "nn/module.h"

namespace tally::nn {

class Linear : public Module {
 public:
  // normal_std 0: PyTorch's default initialisation; otherwise weights drawn from N(0, std^2) and
  // a zero bias, as GPT-2 and Llama initialise theirs.
  Linear(std::int64_t in_features, std::int64_t out_features, bool bias = true,
         Device device = Device::cpu(), float normal_std = 0.0f);
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  std::int64_t in_, out_;
  Tensor* weight_;
  Tensor* bias_ = nullptr;
};

class Conv2d : public Module {
 public:
  Conv2d(std::int64_t in_channels, std::int64_t out_channels, std::int64_t kernel,
         std::int64_t stride = 1, std::int64_t padding = 0, bool bias = true,
         Device device = Device::cpu());
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  std::int64_t in_, out_, kernel_, stride_, padding_;
  Tensor* weight_;
  Tensor* bias_ = nullptr;
};

class MaxPool2d : public Module {
 public:
  explicit MaxPool2d(std::int64_t kernel, std::int64_t stride = 0)
      : kernel_(kernel), stride_(stride) {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  std::int64_t kernel_, stride_;
};

class ReLU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "ReLU"; }
};

class GELU : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "GELU"; }
};

class Flatten : public Module {
 public:
  Tensor forward(const Tensor& x) override;
  std::string describe() const override { return "Flatten"; }
};

class LayerNorm : public Module {
 public:
  explicit LayerNorm(std::int64_t dim, float eps = 1e-5f, Device device = Device::cpu());
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  std::int64_t dim_;
  float eps_;
  Tensor* weight_;
  Tensor* bias_;
};

// Root-mean-square normalisation over the last dimension with a learned scale (Llama's).
class RMSNorm : public Module {
 public:
  explicit RMSNorm(std::int64_t dim, float eps = 1e-6f, Device device = Device::cpu());
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  std::int64_t dim_;
  float eps_;
  Tensor* weight_;
};

class Embedding : public Module {
 public:
  // Rows drawn from N(0, normal_std^2): 1 is PyTorch's default, 0.02 GPT-2's and Llama's.
  Embedding(std::int64_t count, std::int64_t dim, Device device = Device::cpu(),
            float normal_std = 1.0f);
  Tensor forward(const Tensor& indices) override;
  std::string describe() const override;
  // The table as it is now (a tied LM head reads it; a 16-bit copy after convert_parameters).
  const Tensor& weight() const { return *weight_; }

 private:
  std::int64_t count_, dim_;
  Tensor* weight_;
};

class Dropout : public Module {
 public:
  explicit Dropout(float p) : p_(p) {}
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  float p_;
};

// x + fc2(dropout(relu(fc1(x)))): Linear(dim, dim), ReLU, Dropout(p), Linear(dim, dim) with a
// skip connection, the repeated block of deep-mlp. Its layers are named fc1, act, dropout, fc2.
class ResidualBlock : public Module {
 public:
  ResidualBlock(std::int64_t dim, float p, Device device = Device::cpu());
  Tensor forward(const Tensor& x) override;
  std::string describe() const override;

 private:
  std::int64_t dim_;
  float p_;
};

}  // namespace tally::nn
