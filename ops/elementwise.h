// Elementwise ops: unary math, binary math with NumPy broadcasting, scalar variants, in-place
// updates, fill and cast. Outputs are new tensors tagged temporary unless stated.
#pragma once

#include "core/tensor.h"
#include "ops/functors.h"

namespace tally::ops {

Tensor unary(UnaryOp op, const Tensor& x);
// a op b, broadcast; a and b share dtype and device.
Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b);
// a op scalar.
Tensor binary_scalar(BinaryOp op, const Tensor& a, float scalar);
// dst = dst op src in place, src broadcast to dst's shape.
void binary_(BinaryOp op, const Tensor& dst, const Tensor& src);
// dst = dst * scale + src * alpha, in place (src broadcast to dst); the axpy of optimizers and
// gradient accumulation.
void axpby_(const Tensor& dst, float scale, const Tensor& src, float alpha);
void fill_(const Tensor& t, float value);
// A copy of x converted to dtype (round to nearest even for f16/bf16) under `tag`; x itself if it
// already has that dtype.
Tensor cast(const Tensor& x, DType dtype, Tag tag = Tag::temporary);
// dst = src converted to dst's dtype (same shape).
void cast_into(const Tensor& dst, const Tensor& src);
// x where mask is 0, value where mask is non-zero; mask (u8) broadcasts to x.
Tensor masked_fill(const Tensor& x, const Tensor& mask, float value);

inline Tensor add(const Tensor& a, const Tensor& b) {
  return binary(BinaryOp::add, a, b);
}
inline Tensor sub(const Tensor& a, const Tensor& b) {
  return binary(BinaryOp::sub, a, b);
}
inline Tensor mul(const Tensor& a, const Tensor& b) {
  return binary(BinaryOp::mul, a, b);
}
inline Tensor div(const Tensor& a, const Tensor& b) {
  return binary(BinaryOp::div, a, b);
}

}  // namespace tally::ops
