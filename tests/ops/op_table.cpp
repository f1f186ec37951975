#include "tests/ops/op_table.h"

#include <stdexcept>

#include "ops/elementwise.h"

namespace tally::testing {
namespace {

std::vector<OpCase>& registry() {
  static std::vector<OpCase> cases;
  return cases;
}

}  // namespace

int register_cases(CaseList (*make)()) {
  for (OpCase& c : make()) registry().push_back(std::move(c));
  return 0;
}

const std::vector<OpCase>& all_cases() {
  return registry();
}

std::int64_t flat_index(const Shape& shape, const std::vector<std::int64_t>& index) {
  std::int64_t flat = 0;
  for (std::size_t d = 0; d < shape.size(); ++d) flat = flat * shape[d] + index[d];
  return flat;
}

RefTensor ref_broadcast(const RefTensor& t, const Shape& shape) {
  RefTensor out{shape, std::vector<double>(static_cast<std::size_t>(shape_numel(shape)))};
  const std::size_t lead = shape.size() - t.shape.size();
  std::vector<std::int64_t> index(shape.size(), 0);
  for (std::int64_t i = 0; i < out.numel(); ++i) {
    std::int64_t rem = i;
    for (std::size_t d = shape.size(); d-- > 0;) {
      index[d] = rem % shape[d];
      rem /= shape[d];
    }
    std::int64_t src = 0;
    for (std::size_t d = lead; d < shape.size(); ++d) {
      const std::int64_t extent = t.shape[d - lead];
      src = src * extent + (extent == 1 ? 0 : index[d]);
    }
    out.at(i) = t.at(src);
  }
  return out;
}

bool is_differentiable(const InputSpec& spec) {
  return spec.kind == InputKind::normal || spec.kind == InputKind::positive;
}

RefTensor random_ref(const InputSpec& spec, std::mt19937_64& rng) {
  RefTensor r{spec.shape, std::vector<double>(static_cast<std::size_t>(shape_numel(spec.shape)))};
  std::normal_distribution<double> normal;
  std::uniform_real_distribution<double> positive(0.5, 2.0);
  for (double& v : r.values) {
    switch (spec.kind) {
      case InputKind::normal:
      case InputKind::constant:
        v = normal(rng);
        break;
      case InputKind::positive:
        v = positive(rng);
        break;
      case InputKind::labels:
        v = static_cast<double>(rng() % spec.range);
        break;
      case InputKind::mask:
        v = static_cast<double>(rng() % 2);
        break;
    }
    v = static_cast<float>(v);  // the reference sees exactly what tally sees
  }
  return r;
}

Tensor to_tensor(const RefTensor& r, const InputSpec& spec, Device device, DType floating) {
  const DType dtype = spec.kind == InputKind::labels ? DType::i64
                      : spec.kind == InputKind::mask ? DType::u8
                                                     : floating;
  std::vector<float> values(r.values.begin(), r.values.end());
  Shape laid_shape = r.shape;
  if (spec.transposed) {
    const std::size_t n = laid_shape.size();
    std::swap(laid_shape[n - 1], laid_shape[n - 2]);
    const std::int64_t rows = r.shape[n - 2], cols = r.shape[n - 1],
                       batch = r.numel() / (rows * cols);
    std::vector<float> laid(values.size());
    for (std::int64_t b = 0; b < batch; ++b)
      for (std::int64_t i = 0; i < rows; ++i)
        for (std::int64_t j = 0; j < cols; ++j)
          laid[(b * cols + j) * rows + i] = values[(b * rows + i) * cols + j];
    values = std::move(laid);
  }
  const Tensor dense = Tensor::from_values(values, laid_shape, dtype).to(device).detach();
  return spec.transposed ? dense.transpose(-1, -2) : dense;
}

}  // namespace tally::testing
