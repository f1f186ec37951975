// Table rows: rms_norm and rotary_embedding, the normalisation and position embedding of
// Llama-style transformers. Rotary rows take their tables either from ops::rotary_tables, whose
// float64 reference is cos and sin of t / theta^(2i / D), or as constant random inputs, which
// the op rotates by as they are (so the backward is checked for any cos and sin).
#include <cmath>

#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "ops/elementwise.h"
#include "ops/rotary.h"
#include "tests/ops/op_table.h"

namespace tally::testing {
namespace {

using Inputs = std::vector<Tensor>;
using Refs = std::vector<RefTensor>;

constexpr double kTheta = 10000.0;

// Inputs: x, then weight when `weighted`.
RefTensor rms_norm_ref(const Refs& r, bool weighted) {
  const RefTensor& x = r[0];
  const std::int64_t width = x.shape.back(), rows = x.numel() / width;
  RefTensor out = x;
  for (std::int64_t i = 0; i < rows; ++i) {
    double squares = 0;
    for (std::int64_t j = 0; j < width; ++j) squares += x.at(i * width + j) * x.at(i * width + j);
    const double rstd = 1.0 / std::sqrt(squares / static_cast<double>(width) + 1e-6);
    for (std::int64_t j = 0; j < width; ++j) {
      out.at(i * width + j) *= rstd * (weighted ? r[1].at(j) : 1.0);
    }
  }
  return out;
}

OpCase rms_norm_case(std::string name, InputSpec x, bool weighted) {
  std::vector<InputSpec> inputs{x};
  if (weighted) inputs.push_back({{x.shape.back()}});
  return {name, inputs,
          [weighted](const Inputs& in) { return rms_norm(in[0], weighted ? in[1] : Tensor()); },
          [weighted](const Refs& r) { return rms_norm_ref(r, weighted); }};
}

// x [..., T, D] rotated by c, s [T, D/2], written out pair by pair.
RefTensor rotary_ref(const RefTensor& x, const RefTensor& c, const RefTensor& s) {
  const std::int64_t width = x.shape.back(), half = width / 2;
  const std::int64_t positions = x.shape[x.shape.size() - 2], rows = x.numel() / width;
  RefTensor out = x;
  for (std::int64_t row = 0; row < rows; ++row) {
    const std::int64_t t = row % positions;
    for (std::int64_t i = 0; i < half; ++i) {
      const double a = x.at(row * width + i), b = x.at(row * width + i + half);
      const double ct = c.at(t * half + i), st = s.at(t * half + i);
      out.at(row * width + i) = a * ct - b * st;
      out.at(row * width + i + half) = b * ct + a * st;
    }
  }
  return out;
}

// cos and sin [positions, D/2] of t / theta^(2i / D) in float64.
std::pair<RefTensor, RefTensor> tables_ref(std::int64_t positions, std::int64_t width) {
  const std::int64_t half = width / 2;
  RefTensor c{{positions, half}, std::vector<double>(static_cast<std::size_t>(positions * half))};
  RefTensor s = c;
  for (std::int64_t t = 0; t < positions; ++t) {
    for (std::int64_t i = 0; i < half; ++i) {
      const double angle =
          static_cast<double>(t) /
          std::pow(kTheta, static_cast<double>(2 * i) / static_cast<double>(width));
      c.at(t * half + i) = std::cos(angle);
      s.at(t * half + i) = std::sin(angle);
    }
  }
  return {c, s};
}

// x [B, T, H, D] viewed as [B, H, T, D], as attention lays out its heads.
RefTensor heads_first_ref(const RefTensor& x) {
  const std::int64_t b = x.shape[0], t = x.shape[1], h = x.shape[2], d = x.shape[3];
  RefTensor out{{b, h, t, d}, x.values};
  for (std::int64_t i = 0; i < b; ++i)
    for (std::int64_t j = 0; j < t; ++j)
      for (std::int64_t k = 0; k < h; ++k)
        for (std::int64_t l = 0; l < d; ++l)
          out.at(flat_index(out.shape, {i, k, j, l})) = x.at(flat_index(x.shape, {i, j, k, l}));
  return out;
}

// Rotary with tables from ops::rotary_tables on x's device; `heads_first` transposes x
// [B, T, H, D] to [B, H, T, D] (a strided view) first.
OpCase rotary_table_case(std::string name, Shape shape, bool heads_first) {
  return {name,
          {{shape}},
          [heads_first](const Inputs& in) {
            const Tensor x = heads_first ? transpose(in[0], 1, 2) : in[0];
            const ops::RotaryTables t =
                ops::rotary_tables(x.size(-2), x.size(-1), kTheta, x.device(), Tag::other);
            return rotary_embedding(x, t.cos, t.sin);
          },
          [heads_first](const Refs& r) {
            const RefTensor x = heads_first ? heads_first_ref(r[0]) : r[0];
            const auto [c, s] = tables_ref(x.shape[x.shape.size() - 2], x.shape.back());
            return rotary_ref(x, c, s);
          }};
}

// Rotary by constant random tables, cast to the f32 the op takes (a no-op in the f32 table) so
// that the 16-bit columns of the CUDA table run the row too.
OpCase rotary_random_case(std::string name, InputSpec x) {
  const Shape table{x.shape[x.shape.size() - 2], x.shape.back() / 2};
  const InputSpec constant{table, InputKind::constant};
  return {name,
          {x, constant, constant},
          [](const Inputs& in) {
            return rotary_embedding(in[0], ops::cast(in[1], DType::f32),
                                    ops::cast(in[2], DType::f32));
          },
          [](const Refs& r) { return rotary_ref(r[0], r[1], r[2]); }};
}

CaseList transformer_cases() {
  const InputKind normal = InputKind::normal;
  return {
      rms_norm_case("rms_norm/weight", {{4, 6}}, true),
      rms_norm_case("rms_norm/plain_3d", {{2, 3, 5}}, false),
      rms_norm_case("rms_norm/weight_transposed", {{5, 4}, normal, 0, true}, true),
      rms_norm_case("rms_norm/wide_rows", {{3, 300}}, true),
      rotary_table_case("rotary_embedding/tables", {2, 5, 8}, false),
      rotary_table_case("rotary_embedding/heads_view", {2, 5, 3, 8}, true),
      rotary_random_case("rotary_embedding/random_tables", {{2, 3, 4, 6}}),
      rotary_random_case("rotary_embedding/random_tables_transposed", {{2, 6, 4}, normal, 0, true}),
  };
}

}  // namespace

TALLY_OP_CASES(transformer_cases);

}  // namespace tally::testing
