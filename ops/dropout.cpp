#include "ops/dropout.h"

#include "core/generator.h"
#include "core/philox.h"
#include "ops/op_util.h"
#include "ops/parallel.h"
#include "ops/random_cuda.h"

namespace tally::ops {

DropoutResult dropout(const Tensor& x, float p) {
  constexpr std::string_view op = "dropout";
  check_defined(op, {&x});
  check_floating(op, x);
  if (!(p >= 0.0f && p < 1.0f))
    throw UsageError(std::string(op) + ": probability " + std::to_string(p) + " is not in [0, 1)");
  DropoutResult r{Tensor::empty(x.shape(), x.dtype(), x.device()),
                  Tensor::empty(x.shape(), DType::u8, x.device()), 1.0f / (1.0f - p)};
  // Drawn once the outputs exist, so that a failed allocation leaves the stream untouched.
  const PhiloxState rng =
      default_generator().advance((static_cast<std::uint64_t>(x.numel()) + 3) / 4);
  run_kernel(
      op, x.device(),
      [&] {
        dispatch_floating(op, x.dtype(), [&](auto zero) {
          using T = decltype(zero);
          const T* in = static_cast<const T*>(x.raw_data());
          T* out = r.output.data<T>();
          auto* mask = r.mask.data<std::uint8_t>();
          // Output and mask are contiguous, so an element's offset in them is its row-major index,
          // which is all its random number depends on: elements are split between threads. A
          // Philox block (ten rounds) per element.
          parallel_strided_loop<2>(
              x.shape(), {r.output.strides(), x.strides()}, grain_for(32),
              [&](const std::array<std::int64_t, 2>& at, std::int64_t n,
                  const std::array<std::int64_t, 2>& step) {
                for (std::int64_t k = 0; k < n; ++k) {
                  const std::int64_t i = at[0] + k * step[0];
                  const bool keep = philox_uniform_at(rng.seed, rng.offset, i) > p;
                  mask[i] = keep ? 1 : 0;
                  out[i] = from_float<T>(keep ? to_float(in[at[1] + k * step[1]]) * r.scale : 0.0f);
                }
              });
        });
      },
      [&](const auto& stream) { cuda::dropout(stream, r.output, r.mask, x, rng, p, r.scale); });
  return r;
}

Tensor dropout_backward(const Tensor& grad, const Tensor& mask, float scale) {
  constexpr std::string_view op = "dropout_backward";
  check_same_device(op, {&grad, &mask});
  check_floating(op, grad);
  if (mask.dtype() != DType::u8 || mask.shape() != grad.shape()) {
    throw UsageError(std::string(op) + ": mask " + mask.describe() + " does not match gradient " +
                     grad.describe());
  }
  Tensor out = Tensor::empty(grad.shape(), grad.dtype(), grad.device());
  run_kernel(
      op, grad.device(),
      [&] {
        dispatch_floating(op, grad.dtype(), [&](auto zero) {
          using T = decltype(zero);
          const T* g = static_cast<const T*>(grad.raw_data());
          const auto* m = static_cast<const std::uint8_t*>(mask.raw_data());
          T* o = out.data<T>();
          parallel_strided_loop<3>(
              grad.shape(), {out.strides(), grad.strides(), mask.strides()}, grain_for(1),
              [&](const std::array<std::int64_t, 3>& at, std::int64_t n,
                  const std::array<std::int64_t, 3>& step) {
                for (std::int64_t k = 0; k < n; ++k) {
                  const bool keep = m[at[2] + k * step[2]] != 0;
                  o[at[0] + k * step[0]] =
                      from_float<T>(keep ? to_float(g[at[1] + k * step[1]]) * scale : 0.0f);
                }
              });
        });
      },
      [&](const auto& stream) { cuda::dropout_backward(stream, out, grad, mask, scale); });
  return out;
}

}  // namespace tally::ops
