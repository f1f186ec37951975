// Philox 4x32-10 against the known-answer vectors published with Random123 (kat_vectors), and
// the statistics of the uniform and normal streams drawn from it.
#include "core/philox.h"

#include <gtest/gtest.h>

#include <cmath>

#include "core/generator.h"

namespace tally {
namespace {

TEST(Philox, MatchesRandom123KnownAnswers) {
  const PhiloxBlock zero = philox4x32_10(0, 0, 0);
  EXPECT_EQ(zero.v[0], 0x6627e8d5u);
  EXPECT_EQ(zero.v[1], 0xe169c58du);
  EXPECT_EQ(zero.v[2], 0xbc57ac4cu);
  EXPECT_EQ(zero.v[3], 0x9b00dbd8u);
  const PhiloxBlock ones = philox4x32_10(~0ull, ~0ull, ~0ull);
  EXPECT_EQ(ones.v[0], 0x408f276du);
  EXPECT_EQ(ones.v[1], 0x41c83b0eu);
  EXPECT_EQ(ones.v[2], 0xa20bc7c6u);
  EXPECT_EQ(ones.v[3], 0x6d5451fdu);
  // pi digits: ctr = 243f6a88 85a308d3 13198a2e 03707344, key = a4093822 299f31d0.
  const PhiloxBlock pi =
      philox4x32_10(0x299f31d0a4093822ull, 0x85a308d3243f6a88ull, 0x0370734413198a2eull);
  EXPECT_EQ(pi.v[0], 0xd16cfe09u);
  EXPECT_EQ(pi.v[1], 0x94fdccebu);
  EXPECT_EQ(pi.v[2], 0x5001e420u);
  EXPECT_EQ(pi.v[3], 0x24126ea1u);
}

TEST(Philox, UniformAndNormalStreamsHaveTheRightMoments) {
  constexpr int kCount = 1 << 20;
  double u_sum = 0, u_sq = 0, n_sum = 0, n_sq = 0;
  float u_min = 2, u_max = -1;
  for (int i = 0; i < kCount; ++i) {
    const float u = philox_uniform_at(42, 7, i);
    u_min = std::min(u_min, u);
    u_max = std::max(u_max, u);
    u_sum += u;
    u_sq += u * u;
    const float z = philox_normal_at(42, 7, i);
    n_sum += z;
    n_sq += double(z) * z;
  }
  EXPECT_GT(u_min, 0.0f);
  EXPECT_LE(u_max, 1.0f);
  EXPECT_NEAR(u_sum / kCount, 0.5, 2e-3);
  EXPECT_NEAR(u_sq / kCount - 0.25, 1.0 / 12.0, 2e-3);
  EXPECT_NEAR(n_sum / kCount, 0.0, 5e-3);
  EXPECT_NEAR(n_sq / kCount, 1.0, 5e-3);
}

TEST(Generator, AdvancesByBlocksAndReseeds) {
  Generator g(5);
  EXPECT_EQ(g.advance(3).offset, 0u);
  EXPECT_EQ(g.advance(1).offset, 3u);
  EXPECT_EQ(g.state().offset, 4u);
  EXPECT_EQ(g.state().seed, 5u);
}

}  // namespace
}  // namespace tally
