// Table rows: sum, mean and max over dimensions.
#include <algorithm>
#include <limits>

#include "autograd/functions.h"
#include "tests/ops/op_table.h"

namespace tally::testing {
namespace {

using Inputs = std::vector<Tensor>;
using Refs = std::vector<RefTensor>;

enum class Kind { sum, mean, max };

// Reduces r over `dims` (sorted, non-negative) naively, keeping them as size 1 when keepdim.
RefTensor reduce_ref(const RefTensor& r, const std::vector<std::int64_t>& dims, bool keepdim,
                     Kind kind) {
  Shape kept = r.shape, squeezed;
  for (std::int64_t d : dims) kept[d] = 1;
  for (std::size_t d = 0; d < r.shape.size(); ++d) {
    if (std::find(dims.begin(), dims.end(), static_cast<std::int64_t>(d)) == dims.end()) {
      squeezed.push_back(r.shape[d]);
    }
  }
  RefTensor out{kept, std::vector<double>(
                          static_cast<std::size_t>(shape_numel(kept)),
                          kind == Kind::max ? -std::numeric_limits<double>::infinity() : 0.0)};
  std::vector<std::int64_t> index(r.shape.size());
  for (std::int64_t i = 0; i < r.numel(); ++i) {
    std::int64_t rem = i;
    for (std::size_t d = r.shape.size(); d-- > 0;) {
      index[d] = rem % r.shape[d];
      rem /= r.shape[d];
    }
    for (std::int64_t d : dims) index[d] = 0;
    double& slot = out.at(flat_index(kept, index));
    slot = kind == Kind::max ? std::max(slot, r.at(i)) : slot + r.at(i);
  }
  if (kind == Kind::mean) {
    const double count = static_cast<double>(r.numel()) / static_cast<double>(out.numel());
    for (double& v : out.values) v /= count;
  }
  if (!keepdim) out.shape = squeezed;
  return out;
}

OpCase reduce_case(std::string name, Kind kind, Shape shape, std::vector<std::int64_t> dims,
                   bool keepdim, bool transposed = false) {
  return {name,
          {{shape, InputKind::normal, 0, transposed}},
          [=](const Inputs& in) {
            if (kind == Kind::max) return max(in[0], dims[0], keepdim);
            return kind == Kind::sum ? sum(in[0], dims, keepdim) : mean(in[0], dims, keepdim);
          },
          [=](const Refs& r) {
            std::vector<std::int64_t> all = dims;
            if (all.empty()) {
              for (std::size_t d = 0; d < shape.size(); ++d) all.push_back(d);
            }
            return reduce_ref(r[0], all, keepdim, kind);
          }};
}

CaseList reduce_cases() {
  return {
      reduce_case("sum/all", Kind::sum, {3, 4}, {}, false),
      reduce_case("sum/rows", Kind::sum, {3, 4}, {1}, false),
      reduce_case("sum/batch_keepdim", Kind::sum, {2, 3, 4}, {0, 2}, true),
      reduce_case("sum/transposed", Kind::sum, {3, 5}, {0}, false, true),
      reduce_case("mean/all", Kind::mean, {4, 5}, {}, false),
      reduce_case("mean/last", Kind::mean, {2, 3, 4}, {2}, true),
      reduce_case("max/last", Kind::max, {3, 6}, {1}, false),
      reduce_case("max/first_keepdim", Kind::max, {5, 2, 3}, {0}, true),
      reduce_case("max/transposed", Kind::max, {4, 3}, {1}, false, true),
  };
}

}  // namespace

TALLY_OP_CASES(reduce_cases);

}  // namespace tally::testing
