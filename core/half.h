// 16-bit floating-point storage types and their conversions to and from float. Conversions to
// 16 bits round to nearest, ties to even, as IEEE 754 and the GPUs do; NaN stays NaN.
#pragma once

#include <cstdint>
#include <cstring>

#include "core/host_device.h"

namespace tally {

struct Half {
  std::uint16_t bits = 0;
};
struct BFloat16 {
  std::uint16_t bits = 0;
};

TALLY_HD std::uint32_t float_bits(float value) {
  std::uint32_t bits;
  std::memcpy(&bits, &value, sizeof bits);
  return bits;
}

TALLY_HD float bits_float(std::uint32_t bits) {
  float value;
  std::memcpy(&value, &bits, sizeof value);
  return value;
}

TALLY_HD float bf16_to_float(BFloat16 value) {
  return bits_float(static_cast<std::uint32_t>(value.bits) << 16);
}

TALLY_HD BFloat16 float_to_bf16(float value) {
  const std::uint32_t bits = float_bits(value);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return {static_cast<std::uint16_t>((bits >> 16) | 0x40)};
  const std::uint32_t rounding = 0x7fffu + ((bits >> 16) & 1u);
  return {static_cast<std::uint16_t>((bits + rounding) >> 16)};
}

TALLY_HD float half_to_float(Half value) {
  const std::uint32_t sign = static_cast<std::uint32_t>(value.bits & 0x8000u) << 16;
  const std::uint32_t exponent = (value.bits >> 10) & 0x1fu;
  std::uint32_t mantissa = value.bits & 0x3ffu;
  if (exponent == 0x1f) return bits_float(sign | 0x7f800000u | (mantissa << 13));
  if (exponent != 0) return bits_float(sign | ((exponent + 112u) << 23) | (mantissa << 13));
  if (mantissa == 0) return bits_float(sign);
  // Subnormal: normalise the mantissa into float's wider exponent range.
  std::uint32_t shift = 0;
  while ((mantissa & 0x400u) == 0) {
    mantissa <<= 1;
    ++shift;
  }
  return bits_float(sign | ((113u - shift) << 23) | ((mantissa & 0x3ffu) << 13));
}

TALLY_HD Half float_to_half(float value) {
  const std::uint32_t bits = float_bits(value);
  const auto sign = static_cast<std::uint16_t>((bits >> 16) & 0x8000u);
  const std::uint32_t magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) return {static_cast<std::uint16_t>(sign | 0x7e00u)};
  if (magnitude >= 0x477ff000u) return {static_cast<std::uint16_t>(sign | 0x7c00u)};  // overflow
  if (magnitude >= 0x38800000u) {                                                     // normal half
    const std::uint32_t rounding = 0xfffu + ((magnitude >> 13) & 1u);
    return {static_cast<std::uint16_t>(sign | ((magnitude - 0x38000000u + rounding) >> 13))};
  }
  if (magnitude < 0x33000000u) return {sign};  // below half the smallest subnormal
  // Subnormal half: shift the full mantissa into place, rounding to nearest even.
  const std::uint32_t exponent = magnitude >> 23;
  const std::uint32_t mantissa = (magnitude & 0x7fffffu) | 0x800000u;
  const std::uint32_t shift = 126u - exponent;
  const std::uint32_t truncated = mantissa >> shift;
  const std::uint32_t remainder = mantissa & ((1u << shift) - 1u);
  const std::uint32_t halfway = 1u << (shift - 1);
  const std::uint32_t rounded =
      truncated + ((remainder > halfway || (remainder == halfway && (truncated & 1u))) ? 1u : 0u);
  return {static_cast<std::uint16_t>(sign | rounded)};
}

}  // namespace tally
