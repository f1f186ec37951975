// The differentiable API: each function runs its op from ops/ and, when a gradient is needed,
// records a node whose backward is the op's backward math. Models and losses are written with
// these.
#pragma once

#include <vector>

#include "core/tensor.h"

namespace tally {

Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor add(const Tensor& a, float b);
Tensor mul(const Tensor& a, float b);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor gelu(const Tensor& x);  // tanh form
Tensor silu(const Tensor& x);  // x * sigmoid(x); saves x, as PyTorch does

Tensor sum(const Tensor& x, std::vector<std::int64_t> dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, std::vector<std::int64_t> dims = {}, bool keepdim = false);
// Maximum values along dim (the gradient goes to the first maximum).
Tensor max(const Tensor& x, std::int64_t dim, bool keepdim = false);

Tensor matmul(const Tensor& a, const Tensor& b);
// x [..., in] @ weight [out, in]^T + bias [out]: one output allocation, as PyTorch's addmm.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

Tensor reshape(const Tensor& x, Shape shape);
Tensor transpose(const Tensor& x, std::int64_t d0, std::int64_t d1);
Tensor permute(const Tensor& x, std::vector<std::int64_t> dims);
Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end,
             std::int64_t step = 1);
Tensor expand(const Tensor& x, Shape shape);
Tensor contiguous(const Tensor& x);
// Keeps dimensions before start_dim, flattens the rest into one.
Tensor flatten(const Tensor& x, std::int64_t start_dim = 1);

// The copy is allocated under `tag` (autocast's parameter copies are cast_cache).
Tensor cast(const Tensor& x, DType dtype, Tag tag = Tag::temporary);
Tensor masked_fill(const Tensor& x, const Tensor& mask, float value);

}  // namespace tally
