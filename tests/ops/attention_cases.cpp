// Table rows: causal self-attention (autograd/attention.h) with as many kv heads as query heads
// and with grouped-query attention, against a naive float64 attention in which query head h reads
// kv head h / (H / KV) and position i sees positions 0 .. i only.
#include <cmath>
#include <vector>

#include "autograd/attention.h"
#include "ops/factory.h"
#include "tests/ops/op_table.h"

namespace tally::testing {
namespace {

using Inputs = std::vector<Tensor>;
using Refs = std::vector<RefTensor>;

// q [B, H, T, D], k and v [B, KV, T, D] -> [B, T, H * D].
RefTensor attention_ref(const RefTensor& q, const RefTensor& k, const RefTensor& v) {
  const std::int64_t b = q.shape[0], h = q.shape[1], t = q.shape[2], d = q.shape[3];
  const std::int64_t kv = k.shape[1], group = h / kv;
  RefTensor out{{b, t, h * d}, std::vector<double>(static_cast<std::size_t>(b * t * h * d))};
  const auto at = [t, d](std::int64_t heads, std::int64_t n, std::int64_t head, std::int64_t i,
                         std::int64_t e) { return ((n * heads + head) * t + i) * d + e; };
  for (std::int64_t n = 0; n < b; ++n) {
    for (std::int64_t head = 0; head < h; ++head) {
      const std::int64_t g = head / group;
      for (std::int64_t i = 0; i < t; ++i) {
        std::vector<double> p(static_cast<std::size_t>(i + 1));
        double top = -INFINITY, total = 0;
        for (std::int64_t j = 0; j <= i; ++j) {
          double s = 0;
          for (std::int64_t e = 0; e < d; ++e) {
            s += q.at(at(h, n, head, i, e)) * k.at(at(kv, n, g, j, e));
          }
          p[j] = s / std::sqrt(static_cast<double>(d));
          top = std::max(top, p[j]);
        }
        for (double& x : p) total += (x = std::exp(x - top));
        for (std::int64_t e = 0; e < d; ++e) {
          double y = 0;
          for (std::int64_t j = 0; j <= i; ++j) y += p[j] / total * v.at(at(kv, n, g, j, e));
          out.at((n * t + i) * h * d + head * d + e) = y;
        }
      }
    }
  }
  return out;
}

OpCase attention_case(std::string name, std::int64_t heads, std::int64_t kv_heads) {
  const Shape q{2, heads, 5, 4}, kv{2, kv_heads, 5, 4};
  return {std::move(name),
          {{q}, {kv}, {kv}},
          [heads, kv_heads](const Inputs& in) {
            const Tensor mask = ops::causal_mask(in[0].shape()[2], in[0].device());
            const std::int64_t repeats = heads / kv_heads;
            return causal_attention(in[0], repeat_kv(in[1], repeats), repeat_kv(in[2], repeats),
                                    mask);
          },
          [](const Refs& r) { return attention_ref(r[0], r[1], r[2]); }};
}

CaseList attention_cases() {
  return {attention_case("causal_attention/heads", 2, 2),
          attention_case("causal_attention/grouped", 4, 2)};
}

}  // namespace

TALLY_OP_CASES(attention_cases);

}  // namespace tally::testing
