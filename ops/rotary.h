// Rotary position embedding (RoPE) in Hugging Face Llama's non-interleaved ("rotate_half")
// convention: the last dimension D of x splits into halves a = x[..., :D/2] and b = x[..., D/2:],
// and each pair (a_i, b_i) at position t turns by the angle t * inv_freq[i]. Its backward is the
// inverse rotation of the gradient: rotary(grad, cos, sin, !inverse).
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace tally::ops {

struct RotaryTables {
  Tensor cos;  // f32 [positions, head_dim / 2]
  Tensor sin;
};
// cos and sin of t * inv_freq[i], inv_freq[i] = 1 / theta^(2i / head_dim), every step in f32 as
// Hugging Face Llama computes them, filled on the host; on cuda copied there, on sim only
// allocated. Both tables are allocated under `tag`.
RotaryTables rotary_tables(std::int64_t positions, std::int64_t head_dim, double theta,
                           Device device, Tag tag);

// x [..., T, D] (floating, any strides, D even) rotated by cos and sin (f32 [T, D/2],
// contiguous), computed in f32; the output is contiguous, in x's dtype. With h = D/2, c =
// cos[t, i] and s = sin[t, i] (negated when `inverse`):
//   out[t, i] = x[t, i] c - x[t, i + h] s,  out[t, i + h] = x[t, i + h] c + x[t, i] s.
Tensor rotary(const Tensor& x, const Tensor& cos, const Tensor& sin, bool inverse = false);

}  // namespace tally::ops
