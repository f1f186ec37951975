#include "ops/rotary.h"

#include <cmath>
#include <vector>

#include "ops/op_util.h"
#include "ops/parallel.h"
#include "ops/transformer_cuda.h"

namespace tally::ops {
namespace {

void check_table(std::string_view op, const Tensor& x, const Tensor& table, const char* what) {
  check_same_device(op, {&x, &table});
  const std::int64_t positions = x.shape()[x.dim() - 2], half = x.shape().back() / 2;
  if (table.dtype() != DType::f32 || table.shape() != Shape{positions, half} ||
      !table.is_contiguous()) {
    throw UsageError(std::string(op) + ": " + what + " " + table.describe() +
                     " is not a contiguous f32[" + std::to_string(positions) + ", " +
                     std::to_string(half) + "] for " + x.describe());
  }
}

// out (contiguous) = x rotated, walking the first halves of x's rows: an element's place in the
// contiguous output gives its position t and pair index i.
template <typename T>
void rotary_kernel(const Tensor& out, const Tensor& x, const Tensor& cos, const Tensor& sin,
                   bool inverse) {
  const std::int64_t width = x.shape().back(), half = width / 2;
  const std::int64_t positions = x.shape()[x.dim() - 2];
  const std::int64_t partner = half * x.strides().back();
  Shape halves = x.shape();
  halves.back() = half;
  const T* in = x.data<T>();
  T* o = out.data<T>();
  const float* c = cos.data<float>();
  const float* s = sin.data<float>();
  const float sign = inverse ? -1.0f : 1.0f;
  // Each pair writes its own two outputs: pairs are split between threads.
  parallel_strided_loop<2>(halves, {out.strides(), x.strides()}, grain_for(4),
                           [&](const std::array<std::int64_t, 2>& at, std::int64_t n,
                               const std::array<std::int64_t, 2>& step) {
                             for (std::int64_t k = 0; k < n; ++k) {
                               const std::int64_t oi = at[0] + k * step[0],
                                                  xi = at[1] + k * step[1];
                               const std::int64_t row = oi / width, i = oi - row * width;
                               const std::int64_t table = (row % positions) * half + i;
                               const float a = to_float(in[xi]), b = to_float(in[xi + partner]);
                               const float ct = c[table], st = sign * s[table];
                               o[oi] = from_float<T>(a * ct - b * st);
                               o[oi + half] = from_float<T>(b * ct + a * st);
                             }
                           });
}

// The tables' values, in Hugging Face Llama's f32 arithmetic: inv_freq = 1 / theta ** (arange(0,
// D, 2).float() / D), angles = t.float() * inv_freq, then cos and sin of the f32 angles.
void fill_tables(const Tensor& cos, const Tensor& sin, std::int64_t head_dim, double theta) {
  const std::int64_t positions = cos.shape()[0], half = cos.shape()[1];
  std::vector<float> inv_freq(static_cast<std::size_t>(half));
  for (std::int64_t i = 0; i < half; ++i) {
    const float exponent = static_cast<float>(2 * i) / static_cast<float>(head_dim);
    inv_freq[i] = 1.0f / std::pow(static_cast<float>(theta), exponent);
  }
  float* c = cos.data<float>();
  float* s = sin.data<float>();
  for (std::int64_t t = 0; t < positions; ++t) {
    for (std::int64_t i = 0; i < half; ++i) {
      const float angle = static_cast<float>(t) * inv_freq[i];
      c[t * half + i] = std::cos(angle);
      s[t * half + i] = std::sin(angle);
    }
  }
}

}  // namespace

RotaryTables rotary_tables(std::int64_t positions, std::int64_t head_dim, double theta,
                           Device device, Tag tag) {
  constexpr std::string_view op = "rotary_tables";
  if (positions < 0 || head_dim <= 0 || head_dim % 2 != 0 || !(theta > 0.0)) {
    throw UsageError(std::string(op) + ": positions " + std::to_string(positions) + ", head_dim " +
                     std::to_string(head_dim) + ", theta " + std::to_string(theta) +
                     ": need positions >= 0, an even head_dim > 0 and theta > 0");
  }
  const Shape shape{positions, head_dim / 2};
  RotaryTables r{Tensor::empty(shape, DType::f32, device, tag),
                 Tensor::empty(shape, DType::f32, device, tag)};
  run_kernel(
      op, device, [&] { fill_tables(r.cos, r.sin, head_dim, theta); },
      [&](const auto&) {
        // Host copies, not device memory: the device sees only the two tables, as sim does.
        const Tensor cos = Tensor::empty(shape, DType::f32), sin = Tensor::empty(shape, DType::f32);
        fill_tables(cos, sin, head_dim, theta);
        copy_into(r.cos, cos);
        copy_into(r.sin, sin);
      });
  return r;
}

Tensor rotary(const Tensor& x, const Tensor& cos, const Tensor& sin, bool inverse) {
  constexpr std::string_view op = "rotary";
  check_defined(op, {&x, &cos, &sin});
  check_floating(op, x);
  if (x.dim() < 2 || x.shape().back() % 2 != 0) {
    throw UsageError(std::string(op) + ": expected [..., T, D] with D even, got " + x.describe());
  }
  check_table(op, x, cos, "cos");
  check_table(op, x, sin, "sin");
  Tensor out = Tensor::empty(x.shape(), x.dtype(), x.device());
  run_kernel(
      op, x.device(),
      [&] {
        dispatch_floating(op, x.dtype(), [&](auto zero) {
          rotary_kernel<decltype(zero)>(out, x, cos, sin, inverse);
        });
      },
      [&](const auto& stream) { cuda::rotary(stream, out, x, cos, sin, inverse); });
  return out;
}

}  // namespace tally::ops
