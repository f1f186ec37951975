// Elementwise math, written once for the CPU loop and the CUDA kernel. Every functor computes in
// float; the kernels widen 16-bit inputs and narrow the result.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
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

// e^x for the functions built on it here and for the host's softmax and cross-entropy. On the
// device expf. On the host Cephes' expf: within 1 ulp of e^x (expf: 0.5), 0 below -87.34 where expf
// gives denormals, inf above 88.38 (expf: above 88.72); straight-line arithmetic that the compiler
// vectorizes (given -fno-trapping-math, ops/CMakeLists.txt), where calls to expf one element at a
// time took most of a transformer's elementwise time. The clamps come first so that the integer
// conversion never sees a value out of range; NaN stays NaN.
TALLY_HD float exp(float x) {
#if defined(__CUDA_ARCH__)
  return expf(x);
#else
  constexpr float kLow = -87.33654f, kHigh = 88.37626f;
  float clamped = x < kLow ? kLow : x;
  clamped = clamped > kHigh ? kHigh : clamped;
  // x = n ln 2 + r, |r| <= ln 2 / 2, with n rounded to nearest by the 1.5 * 2^23 shift and ln 2
  // split in two so that n ln 2 is exact to float precision.
  const float n = (clamped * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
  const float r = (clamped - n * 0.693359375f) - n * -2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const float scale = std::bit_cast<float>((static_cast<std::int32_t>(n) + 127) << 23);
  const float inside = x < kLow ? 0.0f : p * scale;
  return x > kHigh ? std::numeric_limits<float>::infinity() : inside;
#endif
}

// sigmoid(x) and its complement 1 - sigmoid(x) = sigmoid(-x), each without cancellation, from one
// exp(-|x|), which never overflows.
struct SigmoidPair {
  float s, complement;
};

TALLY_HD SigmoidPair sigmoid_pair(float x) {
  const float e = exp(-fabsf(x));
  const float p = 1.0f / (1.0f + e), q = e * p;
  return {x >= 0.0f ? p : q, x >= 0.0f ? q : p};
}

// The tanh form through 0.5 (1 + tanh(u)) = sigmoid(2u): one exp rather than tanhf, which is a
// libm call on the host.
TALLY_HD float gelu(float x) {
  const float inner = kGeluScale * (x + kGeluCubic * x * x * x);
  return x / (1.0f + exp(-2.0f * inner));
}

// 0.5 (1 + t) + 0.5 x (1 - t^2) u', t = tanh(u), written with s = sigmoid(2u): 0.5 (1 + t) = s and
// 1 - t^2 = 4 s (1 - s).
TALLY_HD float gelu_grad(float x) {
  const float inner = kGeluScale * (x + kGeluCubic * x * x * x);
  const SigmoidPair sp = sigmoid_pair(2.0f * inner);
  const float d_inner = kGeluScale * (1.0f + 3.0f * kGeluCubic * x * x);
  return sp.s + 2.0f * x * sp.s * sp.complement * d_inner;
}

TALLY_HD float sigmoid(float x) {
  return sigmoid_pair(x).s;
}

// SiLU (swish): x * sigmoid(x); its derivative s (1 + x (1 - s)), s = sigmoid(x).
TALLY_HD float silu(float x) {
  return x * sigmoid(x);
}

TALLY_HD float silu_grad(float x) {
  const SigmoidPair sp = sigmoid_pair(x);
  return sp.s * (1.0f + x * sp.complement);
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
