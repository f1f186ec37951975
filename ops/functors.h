// Elementwise math, written once for the CPU loop and the CUDA kernel. Every functor computes in
// float; the kernels widen 16-bit inputs and narrow the result.
#pragma once

#include <cmath>
#include <string_view>

#include "core/host_device.h"

namespace tally::ops {

enum class UnaryOp { neg, exp, log, sqrt, tanh, sigmoid, relu, gelu, silu };
enum class BinaryOp {
  add,
  sub,
  mul,
  div,
  relu_backward,     // (grad, x) -> grad * (x > 0)
  gelu_backward,     // (grad, x) -> grad * gelu'(x)
  tanh_backward,     // (grad, y) -> grad * (1 - y^2), y = tanh(x)
  sigmoid_backward,  // (grad, y) -> grad * y * (1 - y), y = sigmoid(x)
  silu_backward,     // (grad, x) -> grad * silu'(x)
};

namespace fn {

// GELU, tanh form: 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3))).
inline constexpr float kGeluScale = 0.7978845608028654f;
inline constexpr float kGeluCubic = 0.044715f;

TALLY_HD float gelu(float x) {
  const float inner = kGeluScale * (x + kGeluCubic * x * x * x);
  return 0.5f * x * (1.0f + tanhf(inner));
}

TALLY_HD float gelu_grad(float x) {
  const float inner = kGeluScale * (x + kGeluCubic * x * x * x);
  const float t = tanhf(inner);
  const float d_inner = kGeluScale * (1.0f + 3.0f * kGeluCubic * x * x);
  return 0.5f * (1.0f + t) + 0.5f * x * (1.0f - t * t) * d_inner;
}

TALLY_HD float sigmoid(float x) {
  return x >= 0.0f ? 1.0f / (1.0f + expf(-x)) : expf(x) / (1.0f + expf(x));
}

// SiLU (swish): x * sigmoid(x); its derivative s (1 + x (1 - s)), s = sigmoid(x).
TALLY_HD float silu(float x) {
  return x * sigmoid(x);
}

TALLY_HD float silu_grad(float x) {
  const float s = sigmoid(x);
  return s * (1.0f + x * (1.0f - s));
}

}  // namespace fn

template <UnaryOp Op>
struct Unary {
  TALLY_HD float operator()(float x) const {
    if constexpr (Op == UnaryOp::neg) return -x;
    if constexpr (Op == UnaryOp::exp) return expf(x);
    if constexpr (Op == UnaryOp::log) return logf(x);
    if constexpr (Op == UnaryOp::sqrt) return sqrtf(x);
    if constexpr (Op == UnaryOp::tanh) return tanhf(x);
    if constexpr (Op == UnaryOp::sigmoid) return fn::sigmoid(x);
    if constexpr (Op == UnaryOp::relu) return x > 0.0f ? x : 0.0f;
    if constexpr (Op == UnaryOp::gelu) return fn::gelu(x);
    if constexpr (Op == UnaryOp::silu) return fn::silu(x);
  }
};

template <BinaryOp Op>
struct Binary {
  TALLY_HD float operator()(float a, float b) const {
    if constexpr (Op == BinaryOp::add) return a + b;
    if constexpr (Op == BinaryOp::sub) return a - b;
    if constexpr (Op == BinaryOp::mul) return a * b;
    if constexpr (Op == BinaryOp::div) return a / b;
    if constexpr (Op == BinaryOp::relu_backward) return b > 0.0f ? a : 0.0f;
    if constexpr (Op == BinaryOp::gelu_backward) return a * fn::gelu_grad(b);
    if constexpr (Op == BinaryOp::tanh_backward) return a * (1.0f - b * b);
    if constexpr (Op == BinaryOp::sigmoid_backward) return a * b * (1.0f - b);
    if constexpr (Op == BinaryOp::silu_backward) return a * fn::silu_grad(b);
  }
};

// Calls f(Unary<op>{}) with the functor for a run-time op, so that kernels are compiled per op.
template <typename F>
decltype(auto) dispatch_unary(UnaryOp op, F&& f) {
  switch (op) {
    case UnaryOp::neg:
      return f(Unary<UnaryOp::neg>{});
    case UnaryOp::exp:
      return f(Unary<UnaryOp::exp>{});
    case UnaryOp::log:
      return f(Unary<UnaryOp::log>{});
    case UnaryOp::sqrt:
      return f(Unary<UnaryOp::sqrt>{});
    case UnaryOp::tanh:
      return f(Unary<UnaryOp::tanh>{});
    case UnaryOp::sigmoid:
      return f(Unary<UnaryOp::sigmoid>{});
    case UnaryOp::relu:
      return f(Unary<UnaryOp::relu>{});
    case UnaryOp::gelu:
      return f(Unary<UnaryOp::gelu>{});
    case UnaryOp::silu:
      return f(Unary<UnaryOp::silu>{});
  }
  return f(Unary<UnaryOp::neg>{});
}

template <typename F>
decltype(auto) dispatch_binary(BinaryOp op, F&& f) {
  switch (op) {
    case BinaryOp::add:
      return f(Binary<BinaryOp::add>{});
    case BinaryOp::sub:
      return f(Binary<BinaryOp::sub>{});
    case BinaryOp::mul:
      return f(Binary<BinaryOp::mul>{});
    case BinaryOp::div:
      return f(Binary<BinaryOp::div>{});
    case BinaryOp::relu_backward:
      return f(Binary<BinaryOp::relu_backward>{});
    case BinaryOp::gelu_backward:
      return f(Binary<BinaryOp::gelu_backward>{});
    case BinaryOp::tanh_backward:
      return f(Binary<BinaryOp::tanh_backward>{});
    case BinaryOp::sigmoid_backward:
      return f(Binary<BinaryOp::sigmoid_backward>{});
    case BinaryOp::silu_backward:
      return f(Binary<BinaryOp::silu_backward>{});
  }
  return f(Binary<BinaryOp::add>{});
}

std::string_view unary_name(UnaryOp op);
std::string_view binary_name(BinaryOp op);

}  // namespace tally::ops
