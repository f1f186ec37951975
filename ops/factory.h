// Tensors made from nothing: constants, ranges and random draws. Random tensors draw from
// default_generator() on every device, sim included, so the generator advances identically
// whether or not the data exists.
#pragma once

#include "core/tensor.h"

namespace tally::ops {

Tensor zeros(Shape shape, DType dtype = DType::f32, Device device = Device::cpu(),
             Tag tag = Tag::temporary);
Tensor ones(Shape shape, DType dtype = DType::f32, Device device = Device::cpu(),
            Tag tag = Tag::temporary);
Tensor full(Shape shape, float value, DType dtype = DType::f32, Device device = Device::cpu(),
            Tag tag = Tag::temporary);
// 0, 1, ..., n - 1.
Tensor arange(std::int64_t n, DType dtype = DType::i64, Device device = Device::cpu());
// u8 [n, n] with 1 above the diagonal: the positions a causal (autoregressive) attention mask
// hides, for masked_fill(scores, causal_mask(n), -inf).
Tensor causal_mask(std::int64_t n, Device device = Device::cpu());
// f32 standard normals: element i is philox_normal_at(seed, offset, i) of a (numel + 1) / 2
// block draw.
Tensor randn(Shape shape, Device device = Device::cpu(), Tag tag = Tag::temporary);
// f32 uniforms in (low, high]: element i is low + (high - low) * philox_uniform_at(seed, offset,
// i) of a (numel + 3) / 4 block draw.
Tensor uniform(Shape shape, float low, float high, Device device = Device::cpu(),
               Tag tag = Tag::temporary);

}  // namespace tally::ops
