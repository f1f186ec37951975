#include "ops/op_util.h"

namespace tally::ops {

void check_defined(std::string_view op, std::initializer_list<const Tensor*> tensors) {
  for (const Tensor* t : tensors) {
    if (!t->defined()) throw UsageError(std::string(op) + ": undefined tensor argument");
  }
}

void check_same_device(std::string_view op, std::initializer_list<const Tensor*> tensors) {
  check_defined(op, tensors);
  const Tensor& first = **tensors.begin();
  for (const Tensor* t : tensors) {
    if (t->device() != first.device()) {
      throw UsageError(std::string(op) + ": tensors on different devices: " + first.describe() +
                       " and " + t->describe());
    }
  }
}

void check_same_dtype(std::string_view op, std::initializer_list<const Tensor*> tensors) {
  const Tensor& first = **tensors.begin();
  for (const Tensor* t : tensors) {
    if (t->dtype() != first.dtype()) {
      throw UsageError(std::string(op) + ": dtype mismatch: " + first.describe() + " and " +
                       t->describe());
    }
  }
}

void check_floating(std::string_view op, const Tensor& t) {
  if (!is_floating(t.dtype()))
    throw UsageError(std::string(op) + ": expected a floating tensor, got " + t.describe());
}

void check_dim(std::string_view op, const Tensor& t, std::int64_t dims) {
  if (t.dim() != dims) {
    throw UsageError(std::string(op) + ": expected a " + std::to_string(dims) + "-d tensor, got " +
                     t.describe());
  }
}

Shape broadcast_shapes(std::string_view op, const Shape& a, const Shape& b) {
  const std::size_t n = std::max(a.size(), b.size());
  Shape out(n);
  for (std::size_t i = 0; i < n; ++i) {
    const std::int64_t x = i < n - a.size() ? 1 : a[i - (n - a.size())];
    const std::int64_t y = i < n - b.size() ? 1 : b[i - (n - b.size())];
    if (x != y && x != 1 && y != 1) {
      throw UsageError(std::string(op) + ": shapes " + shape_str(a) + " and " + shape_str(b) +
                       " do not broadcast");
    }
    out[i] = x == 1 ? y : x;
  }
  return out;
}

}  // namespace tally::ops
