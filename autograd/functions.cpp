#include "autograd/functions.h"

#include "autograd/autocast.h"
#include "autograd/variable.h"
#include "ops/elementwise.h"
#include "ops/matmul.h"
#include "ops/reduce.h"

namespace tally {
namespace {

using Grads = std::vector<Tensor>;

// y = op(x) whose backward needs only the saved input (or output) and the gradient.
Tensor unary_with_backward(ops::UnaryOp op, const Tensor& x, ops::BinaryOp backward_op,
                           bool save_output) {
  Tensor y = ops::unary(op, x);
  if (needs_grad({&x})) {
    const Tensor saved = save(save_output ? y : x);
    record(ops::unary_name(op), y, {&x}, [saved, backward_op](const Tensor& g) {
      return Grads{ops::binary(backward_op, g, saved)};
    });
  }
  return y;
}

// PyTorch's type promotion between floating dtypes, for the residual adds of autocast (an f32
// stream plus a 16-bit branch): the narrower operand is cast to f32 first, a differentiable cast
// whose copy is freed as soon as the op has run. PyTorch's kernels read mixed inputs without that
// copy, so it is one transient tensor the size of the narrower operand that PyTorch does not
// have. The same dtype, or a non-floating operand (an error for the op), passes through.
std::pair<Tensor, Tensor> promoted(const Tensor& a, const Tensor& b) {
  if (!a.defined() || !b.defined() || a.dtype() == b.dtype() || !is_floating(a.dtype()) ||
      !is_floating(b.dtype())) {
    return {a, b};
  }
  return {cast(a, DType::f32), cast(b, DType::f32)};
}

}  // namespace

Tensor add(const Tensor& a_in, const Tensor& b_in) {
  const auto [a, b] = promoted(a_in, b_in);
  Tensor y = ops::add(a, b);
  if (needs_grad({&a, &b})) {
    record("add", y, {&a, &b}, [sa = a.shape(), sb = b.shape()](const Tensor& g) {
      return Grads{ops::sum_to_shape(g, sa), ops::sum_to_shape(g, sb)};
    });
  }
  return y;
}

Tensor sub(const Tensor& a_in, const Tensor& b_in) {
  const auto [a, b] = promoted(a_in, b_in);
  Tensor y = ops::sub(a, b);
  if (needs_grad({&a, &b})) {
    const bool need_b = requires_grad(b);
    record("sub", y, {&a, &b}, [sa = a.shape(), sb = b.shape(), need_b](const Tensor& g) {
      return Grads{ops::sum_to_shape(g, sa),
                   need_b ? ops::sum_to_shape(ops::unary(ops::UnaryOp::neg, g), sb) : Tensor()};
    });
  }
  return y;
}

Tensor mul(const Tensor& a_in, const Tensor& b_in) {
  const auto [a, b] = promoted(a_in, b_in);
  Tensor y = ops::mul(a, b);
  if (needs_grad({&a, &b})) {
    const bool need_a = requires_grad(a), need_b = requires_grad(b);
    const Tensor sa = need_b ? save(a) : Tensor(), sb = need_a ? save(b) : Tensor();
    record("mul", y, {&a, &b}, [sa, sb, shape_a = a.shape(), shape_b = b.shape()](const Tensor& g) {
      return Grads{sb.defined() ? ops::sum_to_shape(ops::mul(g, sb), shape_a) : Tensor(),
                   sa.defined() ? ops::sum_to_shape(ops::mul(g, sa), shape_b) : Tensor()};
    });
  }
  return y;
}

Tensor div(const Tensor& a_in, const Tensor& b_in) {
  const auto [a, b] = promoted(a_in, b_in);
  Tensor y = ops::div(a, b);
  if (needs_grad({&a, &b})) {
    const bool need_b = requires_grad(b);
    const Tensor sb = save(b), sy = need_b ? save(y) : Tensor();
    record("div", y, {&a, &b}, [sb, sy, shape_a = a.shape(), shape_b = b.shape()](const Tensor& g) {
      const Tensor ga = ops::div(g, sb);
      Tensor gb;
      if (sy.defined()) {
        gb = ops::sum_to_shape(ops::unary(ops::UnaryOp::neg, ops::mul(ga, sy)), shape_b);
      }
      return Grads{ops::sum_to_shape(ga, shape_a), gb};
    });
  }
  return y;
}

Tensor add(const Tensor& a, float b) {
  Tensor y = ops::binary_scalar(ops::BinaryOp::add, a, b);
  if (needs_grad({&a})) record("add_scalar", y, {&a}, [](const Tensor& g) { return Grads{g}; });
  return y;
}

Tensor mul(const Tensor& a, float b) {
  Tensor y = ops::binary_scalar(ops::BinaryOp::mul, a, b);
  if (needs_grad({&a})) {
    record("mul_scalar", y, {&a},
           [b](const Tensor& g) { return Grads{ops::binary_scalar(ops::BinaryOp::mul, g, b)}; });
  }
  return y;
}

Tensor neg(const Tensor& x) {
  Tensor y = ops::unary(ops::UnaryOp::neg, x);
  if (needs_grad({&x})) {
    record("neg", y, {&x}, [](const Tensor& g) { return Grads{ops::unary(ops::UnaryOp::neg, g)}; });
  }
  return y;
}

Tensor exp(const Tensor& x_in) {
  const Tensor x = autocast_f32(x_in);
  return unary_with_backward(ops::UnaryOp::exp, x, ops::BinaryOp::mul, true);
}

Tensor log(const Tensor& x_in) {
  const Tensor x = autocast_f32(x_in);
  return unary_with_backward(ops::UnaryOp::log, x, ops::BinaryOp::div, false);
}

Tensor sqrt(const Tensor& x) {
  Tensor y = ops::unary(ops::UnaryOp::sqrt, x);
  if (needs_grad({&x})) {
    const Tensor sy = save(y);
    record("sqrt", y, {&x}, [sy](const Tensor& g) {
      return Grads{ops::binary_scalar(ops::BinaryOp::mul, ops::div(g, sy), 0.5f)};
    });
  }
  return y;
}

Tensor tanh(const Tensor& x) {
  return unary_with_backward(ops::UnaryOp::tanh, x, ops::BinaryOp::tanh_backward, true);
}

Tensor sigmoid(const Tensor& x) {
  return unary_with_backward(ops::UnaryOp::sigmoid, x, ops::BinaryOp::sigmoid_backward, true);
}

Tensor relu(const Tensor& x) {
  return unary_with_backward(ops::UnaryOp::relu, x, ops::BinaryOp::relu_backward, true);
}

Tensor gelu(const Tensor& x) {
  return unary_with_backward(ops::UnaryOp::gelu, x, ops::BinaryOp::gelu_backward, false);
}

Tensor silu(const Tensor& x) {
  return unary_with_backward(ops::UnaryOp::silu, x, ops::BinaryOp::silu_backward, false);
}

Tensor sum(const Tensor& x_in, std::vector<std::int64_t> dims, bool keepdim) {
  const Tensor x = autocast_f32(x_in);
  Tensor y = ops::sum(x, dims, keepdim);
  if (needs_grad({&x})) {
    record("sum", y, {&x}, [shape = x.shape(), kept = ops::kept_shape(x, dims)](const Tensor& g) {
      return Grads{g.reshape(kept).expand(shape)};
    });
  }
  return y;
}

Tensor mean(const Tensor& x, std::vector<std::int64_t> dims, bool keepdim) {
  Tensor y = ops::mean(x, dims, keepdim);
  if (needs_grad({&x})) {
    const Shape kept = ops::kept_shape(x, dims);
    const float scale = static_cast<float>(shape_numel(kept)) / static_cast<float>(x.numel());
    record("mean", y, {&x}, [shape = x.shape(), kept, scale](const Tensor& g) {
      return Grads{ops::binary_scalar(ops::BinaryOp::mul, g.reshape(kept), scale).expand(shape)};
    });
  }
  return y;
}

Tensor max(const Tensor& x, std::int64_t dim, bool keepdim) {
  ops::MaxResult r = ops::max(x, dim, keepdim);
  if (needs_grad({&x})) {
    const Tensor indices = save(r.indices);
    dim = x.wrap_dim(dim, "max");
    record("max", r.values, {&x}, [indices, shape = x.shape(), dim, keepdim](const Tensor& g) {
      return Grads{ops::max_backward(g, indices, shape, dim, keepdim)};
    });
  }
  return r.values;
}

Tensor matmul(const Tensor& a_in, const Tensor& b_in) {
  const Tensor a = autocast_lower(a_in), b = autocast_lower(b_in);
  Tensor y = ops::matmul(a, b);
  if (needs_grad({&a, &b})) {
    const bool need_a = requires_grad(a), need_b = requires_grad(b);
    const Tensor sa = need_b ? save(a) : Tensor(), sb = need_a ? save(b) : Tensor();
    record("matmul", y, {&a, &b}, [sa, sb, need_a, need_b](const Tensor& g) {
      ops::MatmulGrads r = ops::matmul_backward(g, sa, sb, need_a, need_b);
      return Grads{r.a, r.b};
    });
  }
  return y;
}

Tensor linear(const Tensor& x_in, const Tensor& weight_in, const Tensor& bias_in) {
  const Tensor x = autocast_lower(x_in), weight = autocast_lower(weight_in);
  const Tensor bias = autocast_lower(bias_in);
  Tensor y = ops::matmul(x, weight.transpose(0, 1));
  if (bias.defined()) ops::binary_(ops::BinaryOp::add, y, bias);
  if (needs_grad({&x, &weight, &bias})) {
    const bool need_x = requires_grad(x), need_w = requires_grad(weight);
    const bool need_b = bias.defined() && requires_grad(bias);
    const Tensor sx = need_w ? save(x) : Tensor(), sw = need_x ? save(weight) : Tensor();
    record("linear", y, {&x, &weight, &bias}, [sx, sw, need_x, need_w, need_b](const Tensor& g) {
      Grads grads(3);
      if (need_x) grads[0] = ops::matmul(g, sw);
      if (need_w) {
        const Tensor g2 = g.reshape({-1, g.shape().back()});
        grads[1] = ops::matmul(g2.transpose(0, 1), sx.reshape({-1, sx.shape().back()}));
      }
      if (need_b) grads[2] = ops::sum_to_shape(g, {g.shape().back()});
      return grads;
    });
  }
  return y;
}

Tensor reshape(const Tensor& x, Shape shape) {
  Tensor y = x.reshape(std::move(shape));
  if (needs_grad({&x})) {
    record("reshape", y, {&x},
           [shape = x.shape()](const Tensor& g) { return Grads{g.reshape(shape)}; });
  }
  return y;
}

Tensor transpose(const Tensor& x, std::int64_t d0, std::int64_t d1) {
  Tensor y = x.transpose(d0, d1);
  if (needs_grad({&x})) {
    record("transpose", y, {&x}, [d0, d1](const Tensor& g) { return Grads{g.transpose(d0, d1)}; });
  }
  return y;
}

Tensor permute(const Tensor& x, std::vector<std::int64_t> dims) {
  Tensor y = x.permute(dims);
  if (needs_grad({&x})) {
    std::vector<std::int64_t> inverse(dims.size());
    for (std::size_t i = 0; i < dims.size(); ++i) inverse[x.wrap_dim(dims[i], "permute")] = i;
    record("permute", y, {&x}, [inverse](const Tensor& g) { return Grads{g.permute(inverse)}; });
  }
  return y;
}

Tensor slice(const Tensor& x, std::int64_t dim, std::int64_t start, std::int64_t end,
             std::int64_t step) {
  Tensor y = x.slice(dim, start, end, step);
  if (needs_grad({&x})) {
    record("slice", y, {&x}, [shape = x.shape(), dim, start, end, step](const Tensor& g) {
      Tensor full = Tensor::empty(shape, g.dtype(), g.device());
      ops::fill_(full, 0.0f);
      copy_into(full.slice(dim, start, end, step), g);
      return Grads{full};
    });
  }
  return y;
}

Tensor expand(const Tensor& x, Shape shape) {
  Tensor y = x.expand(std::move(shape));
  if (needs_grad({&x})) {
    record("expand", y, {&x},
           [shape = x.shape()](const Tensor& g) { return Grads{ops::sum_to_shape(g, shape)}; });
  }
  return y;
}

Tensor contiguous(const Tensor& x) {
  Tensor y = x.contiguous();
  if (needs_grad({&x}) && y.storage() != x.storage()) {
    record("contiguous", y, {&x}, [](const Tensor& g) { return Grads{g}; });
  }
  return y;
}

Tensor flatten(const Tensor& x, std::int64_t start_dim) {
  start_dim = x.wrap_dim(start_dim, "flatten");
  Shape shape(x.shape().begin(), x.shape().begin() + start_dim);
  shape.push_back(-1);
  return reshape(x, shape);
}

Tensor cast(const Tensor& x, DType dtype, Tag tag) {
  Tensor y = ops::cast(x, dtype, tag);
  if (needs_grad({&x}) && y.storage() != x.storage()) {
    record("cast", y, {&x},
           [from = x.dtype()](const Tensor& g) { return Grads{ops::cast(g, from)}; });
  }
  return y;
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, float value) {
  Tensor y = ops::masked_fill(x, mask, value);
  if (needs_grad({&x})) {
    const Tensor saved_mask = save(mask);
    record("masked_fill", y, {&x},
           [saved_mask](const Tensor& g) { return Grads{ops::masked_fill(g, saved_mask, 0.0f)}; });
  }
  return y;
}

}  // namespace tally
