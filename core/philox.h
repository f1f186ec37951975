// Philox 4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator, so that the n-th number of a (seed, offset) stream is computed
// directly, identically on the CPU and the GPU. This is the generator cuRAND and PyTorch use
// for GPU dropout; tally uses it on every device.
#pragma once

#include <cmath>
#include <cstdint>

#include "core/host_device.h"

namespace tally {

struct PhiloxBlock {
  std::uint32_t v[4];
};

TALLY_HD void philox_mulhilo(std::uint32_t a, std::uint32_t b, std::uint32_t& hi,
                             std::uint32_t& lo) {
  const std::uint64_t product = static_cast<std::uint64_t>(a) * b;
  hi = static_cast<std::uint32_t>(product >> 32);
  lo = static_cast<std::uint32_t>(product);
}

// The four 32-bit outputs for one 128-bit counter under one 64-bit key.
TALLY_HD PhiloxBlock philox4x32_10(std::uint64_t seed, std::uint64_t counter_lo,
                                   std::uint64_t counter_hi) {
  std::uint32_t c0 = static_cast<std::uint32_t>(counter_lo);
  std::uint32_t c1 = static_cast<std::uint32_t>(counter_lo >> 32);
  std::uint32_t c2 = static_cast<std::uint32_t>(counter_hi);
  std::uint32_t c3 = static_cast<std::uint32_t>(counter_hi >> 32);
  std::uint32_t k0 = static_cast<std::uint32_t>(seed);
  std::uint32_t k1 = static_cast<std::uint32_t>(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    std::uint32_t hi0, lo0, hi1, lo1;
    philox_mulhilo(0xD2511F53u, c0, hi0, lo0);
    philox_mulhilo(0xCD9E8D57u, c2, hi1, lo1);
    const std::uint32_t n0 = hi1 ^ c1 ^ k0;
    const std::uint32_t n2 = hi0 ^ c3 ^ k1;
    c0 = n0;
    c1 = lo1;
    c2 = n2;
    c3 = lo0;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return {{c0, c1, c2, c3}};
}

// Uniform in (0, 1]: never 0, so that log() in the Box-Muller transform stays finite.
TALLY_HD float philox_uniform(std::uint32_t bits) {
  return (static_cast<float>(bits >> 8) + 1.0f) * (1.0f / 16777216.0f);
}

// The i-th uniform of the stream (seed, offset): element i uses word i % 4 of block
// offset + i / 4, so any element can be drawn without drawing the ones before it.
TALLY_HD float philox_uniform_at(std::uint64_t seed, std::uint64_t offset, std::uint64_t i) {
  const PhiloxBlock block = philox4x32_10(seed, offset + i / 4, 0);
  return philox_uniform(block.v[i % 4]);
}

}  // namespace tally

namespace tally {

// The i-th standard normal of the stream (seed, offset), by Box-Muller over the first two words
// of block offset + i / 2: even i take the cosine branch, odd i the sine branch.
TALLY_HD float philox_normal_at(std::uint64_t seed, std::uint64_t offset, std::uint64_t i) {
  const PhiloxBlock block = philox4x32_10(seed, offset + i / 2, 0);
  const float radius = sqrtf(-2.0f * logf(philox_uniform(block.v[0])));
  const float angle = 6.2831853071795864f * philox_uniform(block.v[1]);
  return (i % 2 == 0) ? radius * cosf(angle) : radius * sinf(angle);
}

}  // namespace tally
