#include "tests/ops/op_table.h"

#include <stdexcept>

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

}  // namespace tally::testing
