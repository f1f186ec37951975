#include "ops/loss_scale.h"

#include <atomic>

#include "ops/nn_cuda.h"
#include "ops/op_util.h"
#include "ops/parallel.h"

namespace tally::ops {

void unscale_and_check_(std::span<const Tensor> tensors, float inv_scale, const Tensor& found_inf) {
  constexpr std::string_view op = "unscale_and_check";
  check_defined(op, {&found_inf});
  if (found_inf.dtype() != DType::f32 || found_inf.numel() != 1) {
    throw UsageError(std::string(op) + ": found_inf must be one f32 element, got " +
                     found_inf.describe());
  }
  for (const Tensor& t : tensors) {
    check_same_device(op, {&found_inf, &t});
    check_floating(op, t);
    if (!t.is_contiguous())
      throw UsageError(std::string(op) + ": tensor " + t.describe() + " is not contiguous");
  }
  run_kernel(
      op, found_inf.device(),
      [&] {
        // Elements are unscaled independently, split between threads; an or of their flags
        // does not depend on the order.
        std::atomic<bool> found = false;
        for (const Tensor& t : tensors) {
          dispatch_floating(op, t.dtype(), [&](auto zero) {
            using T = decltype(zero);
            T* p = t.data<T>();
            parallel_for(t.numel(), grain_for(2), [&](std::int64_t begin, std::int64_t end) {
              bool chunk_found = false;
              for (std::int64_t i = begin; i < end; ++i) {
                chunk_found |= unscale_element(p[i], inv_scale);
              }
              if (chunk_found) found.store(true, std::memory_order_relaxed);
            });
          });
        }
        if (found.load()) *found_inf.data<float>() = 1.0f;
      },
      [&](const auto& stream) { cuda::unscale_and_check(stream, tensors, inv_scale, found_inf); });
}

}  // namespace tally::ops
