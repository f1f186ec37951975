// What every op shares: argument checks that name the op and the shapes, broadcasting, and the
// device switch that runs a kernel where there is data. An op is written as
//   1. check its arguments and compute its output shapes (the rule, the same on every device),
//   2. allocate its outputs and temporaries through the device's allocator,
//   3. run_kernel(): the CPU kernel on cpu, the CUDA kernel on cuda, and on sim (which has no
//      data) only what the target's kernel requests inside the call (library workspaces),
// so that every device requests exactly the same memory in the same order.
#pragma once

#include <initializer_list>
#include <string>
#include <string_view>
#include <utility>

#include "allocator/error.h"
#include "core/cuda_context.h"
#include "core/tensor.h"
#include "tally/build_config.h"

namespace tally::ops {

void check_defined(std::string_view op, std::initializer_list<const Tensor*> tensors);
// Every tensor on the same device as the first.
void check_same_device(std::string_view op, std::initializer_list<const Tensor*> tensors);
// Every tensor of the same dtype as the first.
void check_same_dtype(std::string_view op, std::initializer_list<const Tensor*> tensors);
void check_floating(std::string_view op, const Tensor& t);
void check_dim(std::string_view op, const Tensor& t, std::int64_t dims);

// NumPy broadcasting of two shapes; fails naming `op` when they do not broadcast.
Shape broadcast_shapes(std::string_view op, const Shape& a, const Shape& b);

// Runs the kernel for `device`: `cpu()` on the host, `sim()` on sim (which has no data, so only
// what the target's kernel would request: ops/sim_libraries.h), and `cuda(stream)` with the
// device's compute stream (a CudaStream) on a cuda device. `cuda` must be a generic lambda,
// `[&](const auto& stream) { ... }`: its body is then compiled only in builds with CUDA, where the
// launchers it calls (declared in ops/*_cuda.h, defined in .cu files) exist.
template <typename Cpu, typename Cuda, typename Sim>
void run_kernel(std::string_view op, Device device, Cpu&& cpu, Cuda&& cuda, Sim&& sim) {
  switch (device.kind) {
    case DeviceKind::cpu:
      cpu();
      return;
    case DeviceKind::sim:
      sim();
      return;
    case DeviceKind::cuda:
      if constexpr (build::kWithCuda) {
        cuda(compute_stream(device));
        return;
      } else {
        throw UsageError(std::string(op) + ": tally was built without CUDA");
      }
  }
}

// run_kernel for the ops whose kernels request nothing on any device: nothing happens on sim.
template <typename Cpu, typename Cuda>
void run_kernel(std::string_view op, Device device, Cpu&& cpu, Cuda&& cuda) {
  run_kernel(op, device, std::forward<Cpu>(cpu), std::forward<Cuda>(cuda), [] {});
}

// Calls f(T{}) for the floating dtypes, failing naming `op` for others.
template <typename F>
decltype(auto) dispatch_floating(std::string_view op, DType dtype, F&& f) {
  switch (dtype) {
    case DType::f32:
      return f(float{});
    case DType::f16:
      return f(Half{});
    case DType::bf16:
      return f(BFloat16{});
    default:
      throw UsageError(std::string(op) + ": expected a floating dtype, got " +
                       std::string(dtype_name(dtype)));
  }
}

}  // namespace tally::ops
