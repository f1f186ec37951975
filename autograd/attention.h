// Causal self-attention as PyTorch's eager code computes it, from the differentiable API, so
// that its memory can be compared tensor for tensor: scores = q @ k^T over B x H matrices,
// scaled by 1 / sqrt(d), masked_fill with the causal mask, softmax, dropout, @ v. Heads that are
// not contiguous are copied before the batched products, as PyTorch's matmul copies them.
#pragma once

#include <cstdint>

#include "core/tensor.h"

namespace tally {

// q, k, v [B, H, T, d] (any strides), mask u8 [T, T] with 1 where a query may not look (above
// the diagonal: ops::causal_mask); attention dropout p when training. Returns [B, T, H * d],
// the heads side by side as the output projection takes them.
Tensor causal_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                        float dropout_p = 0.0f, bool training = true);

// x [B, kv, T, d] -> [B, kv * repeats, T, d], each head repeated for its group of query heads
// (grouped-query attention): a copy when repeats > 1, as Hugging Face's repeat_kv (expand, then
// reshape); x itself when repeats is 1.
Tensor repeat_kv(const Tensor& x, std::int64_t repeats);

}  // namespace tally
