#include "ops/factory.h"

#include <type_traits>

#include "core/generator.h"
#include "core/philox.h"
#include "ops/elementwise.h"
#include "ops/op_util.h"
#include "ops/parallel.h"
#include "ops/random_cuda.h"

namespace tally::ops {
namespace {

// Sets element i of a contiguous f32 host tensor to f(i), a Philox draw that depends on i alone:
// elements are split between threads.
template <typename F>
void generate(const Tensor& out, F f) {
  float* o = out.data<float>();
  parallel_for(out.numel(), grain_for(64), [&](std::int64_t begin, std::int64_t end) {
    for (std::int64_t i = begin; i < end; ++i) o[i] = f(static_cast<std::uint64_t>(i));
  });
}

}  // namespace

Tensor zeros(Shape shape, DType dtype, Device device, Tag tag) {
  return full(std::move(shape), 0.0f, dtype, device, tag);
}

Tensor ones(Shape shape, DType dtype, Device device, Tag tag) {
  return full(std::move(shape), 1.0f, dtype, device, tag);
}

Tensor full(Shape shape, float value, DType dtype, Device device, Tag tag) {
  Tensor out = Tensor::empty(std::move(shape), dtype, device, tag);
  fill_(out, value);
  return out;
}

Tensor arange(std::int64_t n, DType dtype, Device device) {
  if (n < 0) throw UsageError("arange: negative length " + std::to_string(n));
  Tensor out = Tensor::empty({n}, dtype, device);
  run_kernel(
      "arange", device,
      [&] {
        dispatch_dtype(dtype, [&](auto zero) {
          using T = decltype(zero);
          T* o = out.data<T>();
          for (std::int64_t i = 0; i < n; ++i) {
            // Integers are written exactly: float holds only those below 2^24.
            if constexpr (std::is_integral_v<T>) {
              o[i] = static_cast<T>(i);
            } else {
              o[i] = from_float<T>(static_cast<float>(i));
            }
          }
        });
      },
      [&](const auto& stream) { cuda::arange(stream, out); });
  return out;
}

Tensor causal_mask(std::int64_t n, Device device) {
  if (n < 0) throw UsageError("causal_mask: negative size " + std::to_string(n));
  Tensor out = Tensor::empty({n, n}, DType::u8, device);
  run_kernel(
      "causal_mask", device,
      [&] {
        std::uint8_t* o = out.data<std::uint8_t>();
        for (std::int64_t i = 0; i < n; ++i) {
          for (std::int64_t j = 0; j < n; ++j) o[i * n + j] = j > i ? 1 : 0;
        }
      },
      [&](const auto& stream) { cuda::causal_mask(stream, out); });
  return out;
}

// The generator advances only once the output exists, so a failed allocation draws nothing.
Tensor randn(Shape shape, Device device, Tag tag) {
  Tensor out = Tensor::empty(std::move(shape), DType::f32, device, tag);
  const PhiloxState rng =
      default_generator().advance((static_cast<std::uint64_t>(out.numel()) + 1) / 2);
  run_kernel(
      "randn", out.device(),
      [&] {
        generate(out, [rng](std::uint64_t i) { return philox_normal_at(rng.seed, rng.offset, i); });
      },
      [&](const auto& stream) { cuda::randn(stream, out, rng); });
  return out;
}

Tensor uniform(Shape shape, float low, float high, Device device, Tag tag) {
  if (!(low <= high)) {
    throw UsageError("uniform: low " + std::to_string(low) + " exceeds high " +
                     std::to_string(high));
  }
  Tensor out = Tensor::empty(std::move(shape), DType::f32, device, tag);
  const PhiloxState rng =
      default_generator().advance((static_cast<std::uint64_t>(out.numel()) + 3) / 4);
  run_kernel(
      "uniform", out.device(),
      [&] {
        generate(out, [rng, low, high](std::uint64_t i) {
          return low + (high - low) * philox_uniform_at(rng.seed, rng.offset, i);
        });
      },
      [&](const auto& stream) { cuda::uniform(stream, out, rng, low, high); });
  return out;
}

}  // namespace tally::ops
