#include "ops/sim_libraries.h"

#include <mutex>

#include "allocator/scope.h"
#include "allocator/units.h"
#include "core/device_registry.h"

namespace tally::ops {
namespace {

struct SimLibraryState {
  std::mutex mutex;
  ConvWorkspaceSource conv;
  SimConvCounts counts;
  Tensor blas_workspace;  // sim:cuda's, in the allocator it was taken from
};

// Never destroyed, like the cuda handles (ops/cuda_libraries.cu).
SimLibraryState& state() {
  static SimLibraryState* instance = new SimLibraryState;
  return *instance;
}

}  // namespace

void set_sim_conv_workspace(ConvWorkspaceSource source) {
  SimLibraryState& s = state();
  std::lock_guard lock(s.mutex);
  s.conv = std::move(source);
  s.counts = {};
}

SimConvCounts sim_conv_counts() {
  SimLibraryState& s = state();
  std::lock_guard lock(s.mutex);
  return s.counts;
}

std::string describe_sim_conv_workspace() {
  SimLibraryState& s = state();
  std::lock_guard lock(s.mutex);
  const std::string bound = format_bytes(cudnn_workspace_limit());
  if (s.conv.policy == ConvWorkspacePolicy::bound) {
    return "bound (" + bound + " per cuDNN convolution pass, an upper bound)";
  }
  return "recorded (" + std::to_string(s.conv.recorded.size()) + " choices from " + s.conv.origin +
         "; " + std::to_string(s.counts.recorded) + " passes found there, " +
         std::to_string(s.counts.bounded) + " not found took the bound of " + bound + ")";
}

namespace sim {

void take_blas_workspace(Device device) {
  if (!library_memory_rule(device)) return;
  SimLibraryState& s = state();
  std::lock_guard lock(s.mutex);
  // A device reconfigured since has a fresh allocator: the workspace moves there, as on cuda.
  const auto allocator = device_allocator(device);
  if (s.blas_workspace.defined() && &s.blas_workspace.storage()->allocator() == allocator.get()) {
    return;
  }
  const std::size_t bytes = cublas_workspace_size(sim_settings(device).compute_capability);
  const LibraryScope scope(kCublasScope);
  s.blas_workspace =
      Tensor::empty({static_cast<std::int64_t>(bytes)}, DType::u8, device, Tag::workspace);
  detail::LibraryState& l = detail::library_state();
  std::lock_guard library_lock(l.mutex);
  l.cublas_workspace[{device.kind, device.index}] = bytes;
}

void take_conv_workspace(ConvPass pass, Device device, DType dtype, const Shape& input,
                         const Shape& weight, std::int64_t stride, std::int64_t padding) {
  if (!library_memory_rule(device)) return;
  // Recorded on some cuda device, a choice holds for every device with the same problem.
  ConvAlgoRecord key = conv_problem(pass, 0, dtype, input, weight, stride, padding);
  std::size_t bytes = key.workspace_limit;
  {
    SimLibraryState& s = state();
    std::lock_guard lock(s.mutex);
    bool found = false;
    if (s.conv.policy == ConvWorkspacePolicy::recorded) {
      for (const ConvAlgoRecord& r : s.conv.recorded) {
        key.device = r.device;
        if (r.same_problem(key)) {
          bytes = r.workspace_bytes;
          found = true;
          break;
        }
      }
    }
    ++(found ? s.counts.recorded : s.counts.bounded);
  }
  // Taken and given back at once: on cuda the workspace is freed as soon as the pass is queued.
  const LibraryScope scope(kCudnnScope);
  if (bytes > 0)
    Tensor::empty({static_cast<std::int64_t>(bytes)}, DType::u8, device, Tag::workspace);
}

}  // namespace sim
}  // namespace tally::ops
