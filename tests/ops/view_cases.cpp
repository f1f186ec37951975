// Table rows: differentiable views and layout changes.
#include "autograd/functions.h"
#include "tests/ops/op_table.h"

namespace tally::testing {
namespace {

using Inputs = std::vector<Tensor>;
using Refs = std::vector<RefTensor>;

// out[index] = in[source(index)] for a permutation of the dimensions.
RefTensor permute_ref(const RefTensor& r, const std::vector<std::int64_t>& dims) {
  Shape shape(dims.size());
  for (std::size_t i = 0; i < dims.size(); ++i) shape[i] = r.shape[dims[i]];
  RefTensor out{shape, std::vector<double>(r.values.size())};
  std::vector<std::int64_t> index(shape.size()), source(shape.size());
  for (std::int64_t i = 0; i < out.numel(); ++i) {
    std::int64_t rem = i;
    for (std::size_t d = shape.size(); d-- > 0;) {
      index[d] = rem % shape[d];
      rem /= shape[d];
    }
    for (std::size_t d = 0; d < dims.size(); ++d) source[dims[d]] = index[d];
    out.at(i) = r.at(flat_index(r.shape, source));
  }
  return out;
}

CaseList view_cases() {
  return {
      {"reshape/transposed_input",
       {{{3, 4}, InputKind::normal, 0, true}},
       [](const Inputs& in) {
         return reshape(in[0], {2, 6});
       },
       [](const Refs& r) {
         return RefTensor{{2, 6}, r[0].values};
       }},
      {"flatten",
       {{{2, 3, 2, 2}}},
       [](const Inputs& in) { return flatten(in[0]); },
       [](const Refs& r) {
         return RefTensor{{2, 12}, r[0].values};
       }},
      {"transpose",
       {{{2, 3, 4}}},
       [](const Inputs& in) { return contiguous(transpose(in[0], 0, 2)); },
       [](const Refs& r) {
         return permute_ref(r[0], {2, 1, 0});
       }},
      {"permute",
       {{{2, 3, 4}}},
       [](const Inputs& in) {
         return contiguous(permute(in[0], {1, 2, 0}));
       },
       [](const Refs& r) {
         return permute_ref(r[0], {1, 2, 0});
       }},
      {"slice/strided",
       {{{4, 6}}},
       [](const Inputs& in) { return slice(in[0], 1, 1, 6, 2); },
       [](const Refs& r) {
         RefTensor out{{4, 3}, {}};
         for (std::int64_t i = 0; i < 4; ++i)
           for (std::int64_t j = 1; j < 6; j += 2) out.values.push_back(r[0].at(i * 6 + j));
         return out;
       }},
      {"expand",
       {{{3, 1}}},
       [](const Inputs& in) {
         return expand(in[0], {2, 3, 4});
       },
       [](const Refs& r) {
         return ref_broadcast(r[0], {2, 3, 4});
       }},
  };
}

}  // namespace

TALLY_OP_CASES(view_cases);

}  // namespace tally::testing
