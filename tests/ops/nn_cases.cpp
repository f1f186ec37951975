// Table rows: softmax, log_softmax, cross_entropy, mse_loss, layer_norm, embedding, concat and
// dropout (whose reference redraws the op's mask from the generator state it started from).
#include <cmath>
#include <memory>

#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "core/generator.h"
#include "core/philox.h"
#include "tests/ops/op_table.h"

namespace tally::testing {
namespace {

using Inputs = std::vector<Tensor>;
using Refs = std::vector<RefTensor>;

// Element j of line (outer, inner) along dim is at (outer * extent + j) * inner_size + inner.
struct Lines {
  std::int64_t outer = 1, extent = 1, inner = 1;

  Lines(const Shape& shape, std::int64_t dim) {
    if (dim < 0) dim += static_cast<std::int64_t>(shape.size());
    for (std::int64_t d = 0; d < static_cast<std::int64_t>(shape.size()); ++d) {
      if (d < dim) outer *= shape[d];
      if (d > dim) inner *= shape[d];
    }
    extent = shape[dim];
  }
  std::int64_t at(std::int64_t o, std::int64_t j, std::int64_t i) const {
    return (o * extent + j) * inner + i;
  }
};

RefTensor softmax_ref(const RefTensor& x, std::int64_t dim, bool log) {
  const Lines lines(x.shape, dim);
  RefTensor out = x;
  for (std::int64_t o = 0; o < lines.outer; ++o) {
    for (std::int64_t i = 0; i < lines.inner; ++i) {
      double top = -INFINITY;
      for (std::int64_t j = 0; j < lines.extent; ++j) top = std::max(top, x.at(lines.at(o, j, i)));
      double total = 0;
      for (std::int64_t j = 0; j < lines.extent; ++j)
        total += std::exp(x.at(lines.at(o, j, i)) - top);
      for (std::int64_t j = 0; j < lines.extent; ++j) {
        const double shifted = x.at(lines.at(o, j, i)) - top;
        out.at(lines.at(o, j, i)) = log ? shifted - std::log(total) : std::exp(shifted) / total;
      }
    }
  }
  return out;
}

OpCase softmax_case(std::string name, bool log, InputSpec x, std::int64_t dim, float scale = 1.0f) {
  return {name,
          {x},
          [=](const Inputs& in) {
            const Tensor scaled = scale == 1.0f ? in[0] : mul(in[0], scale);
            return log ? log_softmax(scaled, dim) : softmax(scaled, dim);
          },
          [=](const Refs& r) {
            RefTensor scaled = r[0];
            for (double& v : scaled.values) v *= scale;
            return softmax_ref(scaled, dim, log);
          }};
}

RefTensor scalar_ref(double value) {
  return {{}, {value}};
}

RefTensor cross_entropy_ref(const RefTensor& logits, const RefTensor& labels) {
  const RefTensor lp = softmax_ref(logits, 1, true);
  const std::int64_t rows = logits.shape[0], classes = logits.shape[1];
  double total = 0;
  for (std::int64_t i = 0; i < rows; ++i) {
    total -= lp.at(i * classes + static_cast<std::int64_t>(labels.at(i)));
  }
  return scalar_ref(total / static_cast<double>(rows));
}

RefTensor mse_ref(const RefTensor& a, const RefTensor& b) {
  double total = 0;
  for (std::int64_t i = 0; i < a.numel(); ++i) total += (a.at(i) - b.at(i)) * (a.at(i) - b.at(i));
  return scalar_ref(total / static_cast<double>(a.numel()));
}

// Inputs: x, then weight and bias when `affine`.
RefTensor layer_norm_ref(const Refs& r, bool affine) {
  const RefTensor& x = r[0];
  const std::int64_t width = x.shape.back(), rows = x.numel() / width;
  RefTensor out = x;
  for (std::int64_t i = 0; i < rows; ++i) {
    double mean = 0, var = 0;
    for (std::int64_t j = 0; j < width; ++j) mean += x.at(i * width + j);
    mean /= static_cast<double>(width);
    for (std::int64_t j = 0; j < width; ++j) {
      var += (x.at(i * width + j) - mean) * (x.at(i * width + j) - mean);
    }
    const double rstd = 1.0 / std::sqrt(var / static_cast<double>(width) + 1e-5);
    for (std::int64_t j = 0; j < width; ++j) {
      double v = (x.at(i * width + j) - mean) * rstd;
      if (affine) v = v * r[1].at(j) + r[2].at(j);
      out.at(i * width + j) = v;
    }
  }
  return out;
}

RefTensor embedding_ref(const RefTensor& indices, const RefTensor& weight) {
  const std::int64_t width = weight.shape[1];
  Shape shape = indices.shape;
  shape.push_back(width);
  RefTensor out{shape, std::vector<double>(static_cast<std::size_t>(shape_numel(shape)))};
  for (std::int64_t i = 0; i < indices.numel(); ++i) {
    const auto row = static_cast<std::int64_t>(indices.at(i));
    for (std::int64_t j = 0; j < width; ++j) out.at(i * width + j) = weight.at(row * width + j);
  }
  return out;
}

RefTensor concat_ref(const Refs& parts, std::int64_t dim) {
  Shape shape = parts[0].shape;
  if (dim < 0) dim += static_cast<std::int64_t>(shape.size());
  shape[dim] = 0;
  for (const RefTensor& p : parts) shape[dim] += p.shape[dim];
  const Lines out_lines(shape, dim);
  RefTensor out{shape, std::vector<double>(static_cast<std::size_t>(shape_numel(shape)))};
  std::int64_t start = 0;
  for (const RefTensor& p : parts) {
    const Lines lines(p.shape, dim);
    for (std::int64_t o = 0; o < lines.outer; ++o)
      for (std::int64_t j = 0; j < lines.extent; ++j)
        for (std::int64_t i = 0; i < lines.inner; ++i)
          out.at(out_lines.at(o, start + j, i)) = p.at(lines.at(o, j, i));
    start += p.shape[dim];
  }
  return out;
}

OpCase concat_case(std::string name, std::vector<InputSpec> inputs, std::int64_t dim) {
  return {name, inputs, [dim](const Inputs& in) { return concat(in, dim); },
          [dim](const Refs& r) { return concat_ref(r, dim); }};
}

// The reference redraws the mask from the generator state the run started from: element i is
// kept when its uniform exceeds p, and scaled by 1 / (1 - p).
OpCase dropout_case(std::string name, Shape shape, float p) {
  auto start = std::make_shared<PhiloxState>();
  return {name,
          {{shape}},
          [start, p](const Inputs& in) {
            *start = default_generator().state();
            return dropout(in[0], p, true);
          },
          [start, p](const Refs& r) {
            RefTensor out = r[0];
            for (std::int64_t i = 0; i < out.numel(); ++i) {
              const bool keep = philox_uniform_at(start->seed, start->offset, i) > p;
              out.at(i) = keep ? out.at(i) / (1.0 - static_cast<double>(p)) : 0.0;
            }
            return out;
          }};
}

CaseList nn_cases() {
  const InputKind normal = InputKind::normal, labels = InputKind::labels;
  return {
      softmax_case("softmax/last", false, {{3, 5}}, -1),
      softmax_case("softmax/middle", false, {{2, 4, 3}}, 1),
      softmax_case("softmax/transposed", false, {{4, 5}, normal, 0, true}, 1),
      softmax_case("softmax/transposed_first", false, {{2, 4, 3}, normal, 0, true}, 0),
      softmax_case("log_softmax/last", true, {{3, 5}}, -1),
      softmax_case("log_softmax/middle", true, {{2, 4, 3}}, 1),
      softmax_case("log_softmax/transposed", true, {{4, 5}, normal, 0, true}, -1),
      // exp(100 x) overflows f32: only a max-subtracting kernel stays finite.
      softmax_case("log_softmax/large_logits", true, {{3, 6}}, -1, 100.0f),
      softmax_case("softmax/large_logits", false, {{3, 6}}, -1, 100.0f),
      {"cross_entropy/plain",
       {{{6, 5}}, {{6}, labels, 5}},
       [](const Inputs& in) { return cross_entropy(in[0], in[1]); },
       [](const Refs& r) { return cross_entropy_ref(r[0], r[1]); }},
      {"cross_entropy/transposed_logits",
       {{{4, 7}, normal, 0, true}, {{4}, labels, 7}},
       [](const Inputs& in) { return cross_entropy(in[0], in[1]); },
       [](const Refs& r) { return cross_entropy_ref(r[0], r[1]); }},
      {"mse_loss/both_differentiable",
       {{{3, 4}}, {{3, 4}}},
       [](const Inputs& in) { return mse_loss(in[0], in[1]); },
       [](const Refs& r) { return mse_ref(r[0], r[1]); }},
      {"mse_loss/constant_target_transposed",
       {{{2, 3, 4}, normal, 0, true}, {{2, 3, 4}, InputKind::constant}},
       [](const Inputs& in) { return mse_loss(in[0], in[1]); },
       [](const Refs& r) { return mse_ref(r[0], r[1]); }},
      {"layer_norm/affine",
       {{{4, 6}}, {{6}}, {{6}}},
       [](const Inputs& in) { return layer_norm(in[0], in[1], in[2]); },
       [](const Refs& r) { return layer_norm_ref(r, true); }},
      {"layer_norm/plain_3d",
       {{{2, 3, 5}}},
       [](const Inputs& in) { return layer_norm(in[0]); },
       [](const Refs& r) { return layer_norm_ref(r, false); }},
      {"layer_norm/affine_transposed",
       {{{5, 4}, normal, 0, true}, {{4}}, {{4}}},
       [](const Inputs& in) { return layer_norm(in[0], in[1], in[2]); },
       [](const Refs& r) { return layer_norm_ref(r, true); }},
      {"embedding/2d_indices",
       {{{2, 3}, labels, 7}, {{7, 4}}},
       [](const Inputs& in) { return embedding(in[0], in[1]); },
       [](const Refs& r) { return embedding_ref(r[0], r[1]); }},
      // Ten lookups into three rows repeat rows, so the backward must accumulate.
      {"embedding/repeated_rows",
       {{{10}, labels, 3}, {{3, 2}}},
       [](const Inputs& in) { return embedding(in[0], in[1]); },
       [](const Refs& r) { return embedding_ref(r[0], r[1]); }},
      concat_case("concat/dim0", {{{2, 3}}, {{4, 3}}, {{1, 3}}}, 0),
      concat_case("concat/dim1", {{{2, 3, 2}}, {{2, 1, 2}}}, 1),
      concat_case("concat/transposed_and_constant",
                  {{{3, 2}, normal, 0, true}, {{3, 4}, InputKind::constant}, {{3, 1}}}, 1),
      concat_case("concat/single", {{{2, 3}}}, -1),
      dropout_case("dropout/p0.3", {4, 8}, 0.3f),
      dropout_case("dropout/p0.75_3d", {2, 3, 5}, 0.75f),
  };
}

}  // namespace

TALLY_OP_CASES(nn_cases);

}  // namespace tally::testing
