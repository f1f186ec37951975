#include "ops/elementwise.h"

#include "ops/elementwise_cuda.h"
#include "ops/op_util.h"
#include "ops/parallel.h"

namespace tally::ops {
namespace {

// Strides that read `t` as if it had `shape` (t broadcasts to shape).
Shape broadcast_strides(const Tensor& t, const Shape& shape) {
  return t.expand(shape).strides();
}

// An element's cost in kParallelWork's units: a libm call (exp, tanh) takes some 16 simple steps.
constexpr std::int64_t kSimple = 1, kTranscendental = 16;

std::int64_t cost(UnaryOp op) {
  return op == UnaryOp::neg || op == UnaryOp::relu ? kSimple : kTranscendental;
}

std::int64_t cost(BinaryOp op) {
  return op == BinaryOp::gelu_backward || op == BinaryOp::silu_backward ? kTranscendental : kSimple;
}

template <typename T, typename F>
void map_unary(const Tensor& out, const Tensor& x, std::int64_t cost, F f) {
  T* o = static_cast<T*>(out.raw_data());
  const T* in = static_cast<const T*>(x.raw_data());
  const Shape in_strides = broadcast_strides(x, out.shape());
  parallel_strided_loop<2>(out.shape(), {out.strides(), in_strides}, grain_for(cost),
                           [&](const std::array<std::int64_t, 2>& at, std::int64_t n,
                               const std::array<std::int64_t, 2>& step) {
                             const F op = f;  // a local: see map_binary
                             T* po = o + at[0];
                             const T* pi = in + at[1];
                             if (step[0] == 1 && step[1] == 1) {
                               for (std::int64_t i = 0; i < n; ++i)
                                 po[i] = from_float<T>(op(to_float(pi[i])));
                             } else {
                               for (std::int64_t i = 0; i < n; ++i) {
                                 po[i * step[0]] = from_float<T>(op(to_float(pi[i * step[1]])));
                               }
                             }
                           });
}

template <typename T, typename F>
void map_binary(const Tensor& out, const Tensor& a, const Tensor& b, std::int64_t cost, F f) {
  T* o = static_cast<T*>(out.raw_data());
  const T* pa = static_cast<const T*>(a.raw_data());
  const T* pb = static_cast<const T*>(b.raw_data());
  const Shape a_strides = broadcast_strides(a, out.shape());
  const Shape b_strides = broadcast_strides(b, out.shape());
  parallel_strided_loop<3>(
      out.shape(), {out.strides(), a_strides, b_strides}, grain_for(cost),
      [&](const std::array<std::int64_t, 3>& at, std::int64_t n,
          const std::array<std::int64_t, 3>& step) {
        // A local copy of the functor: read through the reference, its state (a scalar operand)
        // could change at every store to po, which keeps the compiler from vectorizing.
        const F op = f;
        T* po = o + at[0];
        const T* x = pa + at[1];
        const T* y = pb + at[2];
        if (step[0] == 1 && step[1] == 1 && step[2] == 1) {
          for (std::int64_t i = 0; i < n; ++i) {
            po[i] = from_float<T>(op(to_float(x[i]), to_float(y[i])));
          }
        } else if (step[0] == 1 && step[1] == 1 && step[2] == 0) {
          const float yv = to_float(*y);
          for (std::int64_t i = 0; i < n; ++i) po[i] = from_float<T>(op(to_float(x[i]), yv));
        } else {
          for (std::int64_t i = 0; i < n; ++i) {
            po[i * step[0]] = from_float<T>(op(to_float(x[i * step[1]]), to_float(y[i * step[2]])));
          }
        }
      });
}

}  // namespace

std::string_view unary_name(UnaryOp op) {
  static constexpr std::string_view kNames[] = {"neg",     "exp",  "log",  "sqrt", "tanh",
                                                "sigmoid", "relu", "gelu", "silu"};
  return kNames[static_cast<int>(op)];
}

std::string_view binary_name(BinaryOp op) {
  static constexpr std::string_view kNames[] = {
      "add",           "sub",           "mul",           "div",
      "relu_backward", "gelu_backward", "tanh_backward", "sigmoid_backward",
      "silu_backward"};
  return kNames[static_cast<int>(op)];
}

Tensor unary(UnaryOp op, const Tensor& x) {
  const std::string_view name = unary_name(op);
  check_defined(name, {&x});
  check_floating(name, x);
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  run_kernel(
      name, x.device(),
      [&] {
        dispatch_floating(name, x.dtype(), [&](auto zero) {
          dispatch_unary(op, [&](auto f) { map_unary<decltype(zero)>(out, x, cost(op), f); });
        });
      },
      [&](const auto& stream) { cuda::unary(stream, op, out, x); });
  return out;
}

Tensor binary(BinaryOp op, const Tensor& a, const Tensor& b) {
  const std::string_view name = binary_name(op);
  check_same_device(name, {&a, &b});
  check_same_dtype(name, {&a, &b});
  check_floating(name, a);
  Tensor out = Tensor::empty(broadcast_shapes(name, a.shape(), b.shape()), a.dtype(), a.device());
  run_kernel(
      name, a.device(),
      [&] {
        dispatch_floating(name, a.dtype(), [&](auto zero) {
          dispatch_binary(op, [&](auto f) { map_binary<decltype(zero)>(out, a, b, cost(op), f); });
        });
      },
      [&](const auto& stream) { cuda::binary(stream, op, out, a, b); });
  return out;
}

Tensor binary_scalar(BinaryOp op, const Tensor& a, float scalar) {
  const std::string_view name = binary_name(op);
  check_defined(name, {&a});
  check_floating(name, a);
  Tensor out = Tensor::empty(a.shape(), a.dtype(), a.device());
  run_kernel(
      name, a.device(),
      [&] {
        dispatch_floating(name, a.dtype(), [&](auto zero) {
          dispatch_binary(op, [&](auto f) {
            map_unary<decltype(zero)>(out, a, cost(op),
                                      [f, scalar](float x) { return f(x, scalar); });
          });
        });
      },
      [&](const auto& stream) { cuda::binary_scalar(stream, op, out, a, scalar); });
  return out;
}

void binary_(BinaryOp op, const Tensor& dst, const Tensor& src) {
  const std::string_view name = binary_name(op);
  check_same_device(name, {&dst, &src});
  check_same_dtype(name, {&dst, &src});
  check_floating(name, dst);
  if (broadcast_shapes(name, dst.shape(), src.shape()) != dst.shape()) {
    throw UsageError(std::string(name) + ": in-place result " + dst.describe() +
                     " cannot take the shape of " + src.describe());
  }
  run_kernel(
      name, dst.device(),
      [&] {
        dispatch_floating(name, dst.dtype(), [&](auto zero) {
          dispatch_binary(op,
                          [&](auto f) { map_binary<decltype(zero)>(dst, dst, src, cost(op), f); });
        });
      },
      [&](const auto& stream) { cuda::binary(stream, op, dst, dst, src); });
}

void axpby_(const Tensor& dst, float scale, const Tensor& src, float alpha) {
  check_same_device("axpby", {&dst, &src});
  check_same_dtype("axpby", {&dst, &src});
  run_kernel(
      "axpby", dst.device(),
      [&] {
        dispatch_floating("axpby", dst.dtype(), [&](auto zero) {
          map_binary<decltype(zero)>(dst, dst, src, kSimple,
                                     [=](float d, float s) { return d * scale + s * alpha; });
        });
      },
      [&](const auto& stream) { cuda::axpby(stream, dst, scale, src, alpha); });
}

void fill_(const Tensor& t, float value) {
  check_defined("fill", {&t});
  run_kernel(
      "fill", t.device(),
      [&] {
        dispatch_dtype(t.dtype(), [&](auto zero) {
          using T = decltype(zero);
          map_unary<T>(t, t, kSimple, [value](float) { return value; });
        });
      },
      [&](const auto& stream) { cuda::fill(stream, t, value); });
}

Tensor cast(const Tensor& x, DType dtype, Tag tag) {
  check_defined("cast", {&x});
  if (x.dtype() == dtype) return x;
  Tensor out = Tensor::empty(x.shape(), dtype, x.device(), tag);
  cast_into(out, x);
  return out;
}

void cast_into(const Tensor& dst, const Tensor& src) {
  check_same_device("cast", {&dst, &src});
  if (dst.shape() != src.shape()) {
    throw UsageError("cast: cannot cast " + src.describe() + " into " + dst.describe());
  }
  run_kernel(
      "cast", src.device(),
      [&] {
        dispatch_dtype(src.dtype(), [&](auto in_zero) {
          using In = decltype(in_zero);
          dispatch_dtype(dst.dtype(), [&](auto out_zero) {
            using Out = decltype(out_zero);
            Out* o = static_cast<Out*>(dst.raw_data());
            const In* in = static_cast<const In*>(src.raw_data());
            parallel_strided_loop<2>(
                src.shape(), {dst.strides(), src.strides()}, grain_for(kSimple),
                [&](const std::array<std::int64_t, 2>& at, std::int64_t n,
                    const std::array<std::int64_t, 2>& step) {
                  for (std::int64_t i = 0; i < n; ++i) {
                    o[at[0] + i * step[0]] = from_float<Out>(to_float(in[at[1] + i * step[1]]));
                  }
                });
          });
        });
      },
      [&](const auto& stream) { cuda::cast(stream, dst, src); });
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, float value) {
  check_same_device("masked_fill", {&x, &mask});
  check_floating("masked_fill", x);
  if (mask.dtype() != DType::u8)
    throw UsageError("masked_fill: mask must be u8, got " + mask.describe());
  if (broadcast_shapes("masked_fill", x.shape(), mask.shape()) != x.shape()) {
    throw UsageError("masked_fill: mask " + mask.describe() + " does not broadcast to " +
                     x.describe());
  }
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  run_kernel(
      "masked_fill", x.device(),
      [&] {
        dispatch_floating("masked_fill", x.dtype(), [&](auto zero) {
          using T = decltype(zero);
          T* o = out.data<T>();
          const T* in = static_cast<const T*>(x.raw_data());
          const auto* m = static_cast<const std::uint8_t*>(mask.raw_data());
          const T fill = from_float<T>(value);
          parallel_strided_loop<3>(x.shape(),
                                   {out.strides(), x.strides(), mask.expand(x.shape()).strides()},
                                   grain_for(kSimple),
                                   [&](const std::array<std::int64_t, 3>& at, std::int64_t n,
                                       const std::array<std::int64_t, 3>& step) {
                                     T* po = o + at[0];
                                     const T* pi = in + at[1];
                                     const std::uint8_t* pm = m + at[2];
                                     if (step[0] == 1 && step[1] == 1 && step[2] == 1) {
                                       // Known unit strides let the compiler vectorize the run.
                                       // Locals and loads whatever the mask: no load is
                                       // conditional, and no store can change the fill.
                                       const T f = fill;
                                       for (std::int64_t i = 0; i < n; ++i) {
                                         const T v = pi[i];
                                         po[i] = pm[i] ? f : v;
                                       }
                                     } else {
                                       for (std::int64_t i = 0; i < n; ++i) {
                                         po[i * step[0]] = pm[i * step[2]] ? fill : pi[i * step[1]];
                                       }
                                     }
                                   });
        });
      },
      [&](const auto& stream) { cuda::masked_fill(stream, out, x, mask, value); });
  return out;
}

}  // namespace tally::ops
