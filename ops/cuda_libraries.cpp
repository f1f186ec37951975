#include "ops/cuda_libraries.h"

#include "allocator/units.h"

namespace tally::ops {

detail::LibraryState& detail::library_state() {
  static LibraryState* state = new LibraryState;
  return *state;
}

void set_allow_tf32(bool allow) {
  detail::library_state().allow_tf32 = allow;
}

bool allow_tf32() {
  return detail::library_state().allow_tf32;
}

void set_cudnn_workspace_limit(std::size_t bytes) {
  detail::library_state().cudnn_workspace_limit = bytes;
}

std::size_t cudnn_workspace_limit() {
  return detail::library_state().cudnn_workspace_limit;
}

void set_cudnn_exact_algorithms(bool exact) {
  detail::library_state().cudnn_exact_algorithms = exact;
}

bool cudnn_exact_algorithms() {
  return detail::library_state().cudnn_exact_algorithms;
}

std::vector<ConvAlgoRecord> conv_algorithm_log() {
  detail::LibraryState& s = detail::library_state();
  std::lock_guard lock(s.mutex);
  return s.conv_algorithms;
}

std::optional<ConvAlgoRecord> last_conv_choice(ConvPass pass) {
  detail::LibraryState& s = detail::library_state();
  std::lock_guard lock(s.mutex);
  const int index = s.last_conv_choice[static_cast<std::size_t>(pass)];
  if (index < 0) return std::nullopt;
  return s.conv_algorithms[static_cast<std::size_t>(index)];
}

std::size_t cublas_workspace_size(int compute_capability) {
  const int major = compute_capability / 10;
  return major == 9 || major == 10 ? 8 * 4 * MiB : 2 * 4 * MiB + 8 * 16 * KiB;
}

std::size_t cublas_workspace_bytes(Device device) {
  if (!library_memory_rule(device)) return 0;
  detail::LibraryState& s = detail::library_state();
  std::lock_guard lock(s.mutex);
  const auto it = s.cublas_workspace.find({device.kind, device.index});
  return it == s.cublas_workspace.end() ? 0 : it->second;
}

ConvAlgoRecord conv_problem(ConvPass pass, int device, DType dtype, const Shape& input,
                            const Shape& weight, std::int64_t stride, std::int64_t padding) {
  ConvAlgoRecord r;
  r.pass = pass;
  r.device = device;
  r.dtype = dtype;
  r.input = input;
  r.weight = weight;
  r.stride = stride;
  r.padding = padding;
  r.tf32 = dtype == DType::f32 && allow_tf32();
  r.workspace_limit = cudnn_workspace_limit();
  r.exact = cudnn_exact_algorithms();
  return r;
}

std::string_view conv_pass_name(ConvPass pass) {
  switch (pass) {
    case ConvPass::forward:
      return "forward";
    case ConvPass::backward_data:
      return "backward_data";
    case ConvPass::backward_filter:
      return "backward_filter";
  }
  return "?";
}

}  // namespace tally::ops
