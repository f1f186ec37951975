// f16/bf16 conversions against independent references: the compiler's own _Float16 for f16,
// and exact double arithmetic for bf16's round-to-nearest-even.
#include "core/half.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <random>

namespace tally {
namespace {

std::uint16_t reference_half_bits(float value) {
  const _Float16 h = static_cast<_Float16>(value);
  std::uint16_t bits;
  std::memcpy(&bits, &h, sizeof bits);
  return bits;
}

TEST(Half, EveryHalfRoundTripsThroughFloat) {
  for (std::uint32_t bits = 0; bits < 0x10000; ++bits) {
    const Half h{static_cast<std::uint16_t>(bits)};
    const float f = half_to_float(h);
    _Float16 reference;
    std::memcpy(&reference, &h.bits, sizeof h.bits);
    if (std::isnan(f)) {
      EXPECT_TRUE(std::isnan(static_cast<float>(reference))) << bits;
      EXPECT_TRUE(std::isnan(half_to_float(float_to_half(f))));
      continue;
    }
    EXPECT_EQ(f, static_cast<float>(reference)) << bits;
    EXPECT_EQ(float_to_half(f).bits, bits) << bits;
  }
}

TEST(Half, FloatToHalfRoundsToNearestEvenLikeTheCompiler) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<std::uint32_t> any;
  for (int i = 0; i < 2000000; ++i) {
    std::uint32_t bits = any(rng);
    // Concentrate on the half range and its edges: exponents 100..145.
    bits = (bits & 0x807fffffu) | ((100u + (bits >> 23) % 46u) << 23);
    const float f = bits_float(bits);
    ASSERT_EQ(float_to_half(f).bits, reference_half_bits(f)) << std::hexfloat << f;
  }
  for (float f : {65504.0f, 65519.99f, 65520.0f, 1e9f, -1e9f, 5.96e-8f, 2.98e-8f, 2.99e-8f}) {
    EXPECT_EQ(float_to_half(f).bits, reference_half_bits(f)) << f;
  }
}

float reference_bf16(float value) {
  // The two bf16 neighbours of value, chosen by exact double distance, ties to even.
  const std::uint32_t bits = float_bits(value);
  const float down = bits_float(bits & 0xffff0000u);
  const float up = bits_float((bits & 0xffff0000u) + 0x10000u);
  const double d_down = std::fabs(static_cast<double>(value) - down);
  const double d_up = std::fabs(static_cast<double>(up) - value);
  if (d_down < d_up) return down;
  if (d_up < d_down) return up;
  return ((bits >> 16) & 1u) ? up : down;
}

TEST(BFloat16, RoundsToNearestEven) {
  std::mt19937 rng(11);
  std::uniform_int_distribution<std::uint32_t> any;
  for (int i = 0; i < 2000000; ++i) {
    const float f = bits_float(any(rng));
    if (std::isnan(f) || std::isinf(f) || std::fabs(f) > 3.38e38f) continue;
    ASSERT_EQ(bf16_to_float(float_to_bf16(f)), reference_bf16(f)) << std::hexfloat << f;
  }
  EXPECT_TRUE(std::isnan(bf16_to_float(float_to_bf16(std::nanf("")))));
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f + 1.0f / 256.0f)), 1.0f);  // a tie, to even
  EXPECT_EQ(bf16_to_float(float_to_bf16(1.0f + 3.0f / 256.0f)), 1.0f + 4.0f / 256.0f);
}

}  // namespace
}  // namespace tally
