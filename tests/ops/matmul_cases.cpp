// Table rows: matmul (plain, folded leading dims, batched, transposed operands) and linear.
#include "autograd/functions.h"
#include "tests/ops/op_table.h"

namespace tally::testing {
namespace {

using Inputs = std::vector<Tensor>;
using Refs = std::vector<RefTensor>;

// a [..., M, K] @ b [K, N] or [B, K, N] batched with a [B, M, K].
RefTensor matmul_ref(const RefTensor& a, const RefTensor& b) {
  const std::int64_t k = a.shape.back(), n = b.shape.back();
  const std::int64_t m = a.numel() / k;
  const bool batched = b.shape.size() == 3;
  const std::int64_t rows = batched ? a.shape[1] : m;
  Shape shape = a.shape;
  shape.back() = n;
  RefTensor out{shape, std::vector<double>(static_cast<std::size_t>(m * n), 0.0)};
  for (std::int64_t i = 0; i < m; ++i) {
    const std::int64_t batch = batched ? i / rows : 0;
    for (std::int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (std::int64_t p = 0; p < k; ++p) acc += a.at(i * k + p) * b.at((batch * k + p) * n + j);
      out.at(i * n + j) = acc;
    }
  }
  return out;
}

RefTensor transpose_ref(const RefTensor& w) {
  const std::int64_t rows = w.shape[0], cols = w.shape[1];
  RefTensor t{{cols, rows}, std::vector<double>(w.values.size())};
  for (std::int64_t i = 0; i < rows; ++i)
    for (std::int64_t j = 0; j < cols; ++j) t.at(j * rows + i) = w.at(i * cols + j);
  return t;
}

OpCase matmul_case(std::string name, InputSpec a, InputSpec b) {
  return {name,
          {a, b},
          [](const Inputs& in) { return matmul(in[0], in[1]); },
          [](const Refs& r) { return matmul_ref(r[0], r[1]); }};
}

CaseList matmul_cases() {
  const InputKind normal = InputKind::normal;
  return {
      matmul_case("matmul/plain", {{3, 4}}, {{4, 5}}),
      matmul_case("matmul/a_transposed", {{3, 4}, normal, 0, true}, {{4, 2}}),
      matmul_case("matmul/b_transposed", {{3, 4}}, {{4, 2}, normal, 0, true}),
      matmul_case("matmul/both_transposed", {{2, 3}, normal, 0, true}, {{3, 4}, normal, 0, true}),
      matmul_case("matmul/folded_leading_dims", {{2, 3, 4}}, {{4, 2}}),
      matmul_case("matmul/batched", {{2, 3, 4}}, {{2, 4, 5}}),
      matmul_case("matmul/batched_transposed", {{2, 3, 4}, normal, 0, true}, {{2, 4, 2}}),
      {"linear/bias",
       {{{5, 4}}, {{3, 4}}, {{3}}},
       [](const Inputs& in) { return linear(in[0], in[1], in[2]); },
       [](const Refs& r) {
         RefTensor out = matmul_ref(r[0], transpose_ref(r[1]));
         for (std::int64_t i = 0; i < out.numel(); ++i) out.at(i) += r[2].at(i % 3);
         return out;
       }},
      {"linear/no_bias_3d",
       {{{2, 3, 4}}, {{2, 4}}},
       [](const Inputs& in) { return linear(in[0], in[1]); },
       [](const Refs& r) { return matmul_ref(r[0], transpose_ref(r[1])); }},
  };
}

}  // namespace

TALLY_OP_CASES(matmul_cases);

}  // namespace tally::testing
