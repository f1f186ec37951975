#include "ops/concat.h"

#include "ops/op_util.h"

namespace tally::ops {

Tensor concat(const std::vector<Tensor>& tensors, std::int64_t dim) {
  constexpr std::string_view op = "concat";
  if (tensors.empty()) throw UsageError(std::string(op) + ": expected at least one tensor");
  const Tensor& first = tensors.front();
  check_defined(op, {&first});
  dim = first.wrap_dim(dim, op);
  Shape shape = first.shape();
  shape[dim] = 0;
  for (const Tensor& t : tensors) {
    check_same_device(op, {&first, &t});
    check_same_dtype(op, {&first, &t});
    bool matches = t.dim() == first.dim();
    for (std::int64_t d = 0; matches && d < t.dim(); ++d) {
      matches = d == dim || t.shape()[d] == first.shape()[d];
    }
    if (!matches) {
      throw UsageError(std::string(op) + ": shapes " + first.describe() + " and " + t.describe() +
                       " differ outside dimension " + std::to_string(dim));
    }
    shape[dim] += t.shape()[dim];
  }
  Tensor out = Tensor::empty(shape, first.dtype(), first.device());
  // copy_into copies within any device, so both kernels are these slice copies.
  const auto copy_parts = [&] {
    std::int64_t start = 0;
    for (const Tensor& t : tensors) {
      const std::int64_t end = start + t.shape()[dim];
      copy_into(out.slice(dim, start, end), t);
      start = end;
    }
  };
  run_kernel(op, first.device(), copy_parts, [&](const auto&) { copy_parts(); });
  return out;
}

std::vector<Tensor> concat_backward(const Tensor& grad, const std::vector<std::int64_t>& sizes,
                                    std::int64_t dim) {
  std::vector<Tensor> parts;
  std::int64_t start = 0;
  for (std::int64_t size : sizes) {
    parts.push_back(grad.slice(dim, start, start + size));
    start += size;
  }
  return parts;
}

}  // namespace tally::ops
