#include "autograd/attention.h"

#include <cmath>
#include <limits>

#include "allocator/error.h"
#include "autograd/functions.h"
#include "autograd/nn_functions.h"

namespace tally {

Tensor causal_attention(const Tensor& q, const Tensor& k, const Tensor& v, const Tensor& mask,
                        float dropout_p, bool training) {
  if (q.dim() != 4 || k.shape() != q.shape() || v.shape() != q.shape()) {
    throw UsageError("causal_attention: expected q, k and v of one shape [B, H, T, d], got " +
                     q.describe() + ", " + k.describe() + ", " + v.describe());
  }
  const std::int64_t b = q.shape()[0], h = q.shape()[1], t = q.shape()[2], d = q.shape()[3];
  const Tensor q3 = reshape(contiguous(q), {b * h, t, d});
  const Tensor k3 = reshape(contiguous(k), {b * h, t, d});
  const Tensor v3 = reshape(contiguous(v), {b * h, t, d});
  Tensor scores = mul(matmul(q3, transpose(k3, 1, 2)), 1.0f / std::sqrt(static_cast<float>(d)));
  scores = masked_fill(scores, mask, -std::numeric_limits<float>::infinity());
  const Tensor weights = dropout(softmax(scores, -1), dropout_p, training);
  const Tensor y = reshape(matmul(weights, v3), {b, h, t, d});
  return reshape(contiguous(transpose(y, 1, 2)), {b, t, h * d});
}

Tensor repeat_kv(const Tensor& x, std::int64_t repeats) {
  if (x.dim() != 4 || repeats < 1) {
    throw UsageError("repeat_kv: expected [B, kv, T, d] and repeats >= 1, got " + x.describe() +
                     " and " + std::to_string(repeats));
  }
  if (repeats == 1) return x;
  const Shape& s = x.shape();
  const Tensor grouped =
      expand(reshape(x, {s[0], s[1], 1, s[2], s[3]}), {s[0], s[1], repeats, s[2], s[3]});
  return reshape(grouped, {s[0], s[1] * repeats, s[2], s[3]});
}

}  // namespace tally
