#include "ops/loss_scale.h"

#include "ops/nn_cuda.h"
#include "ops/op_util.h"

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
        bool found = false;
        for (const Tensor& t : tensors) {
          dispatch_floating(op, t.dtype(), [&](auto zero) {
            using T = decltype(zero);
            T* p = t.data<T>();
            const std::int64_t n = t.numel();
            for (std::int64_t i = 0; i < n; ++i) found |= unscale_element(p[i], inv_scale);
          });
        }
        if (found) *found_inf.data<float>() = 1.0f;
      },
      [&](const auto& stream) { cuda::unscale_and_check(stream, tensors, inv_scale, found_inf); });
}

}  // namespace tally::ops
