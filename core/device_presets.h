// GPUs by name, for the sim device: how much memory each has, and what a process spends on it
// outside any allocator. A sim run against a preset can use what the allocator could obtain on
// that GPU, its total less that overhead, and fails past it with the allocator's usual
// out-of-memory error.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace tally {

struct DevicePreset {
  std::string_view name;         // e.g. "h100-80gb"
  std::string_view description;  // the GPU, as nvidia-smi names it
  // The device's memory as the CUDA runtime reports it (cudaMemGetInfo's total, which PyTorch's
  // out-of-memory message calls "total capacity"): less than nvidia-smi's total, which still
  // counts what the driver keeps for itself, and less again than the marketing figure: a "16GB"
  // T4 is 15360 MiB to nvidia-smi and about 14.6 GiB to the runtime. The figure moves by up to
  // 1.4% between drivers (a T4: 14.76 GiB, 14.56 GiB); docs/estimate.md cites where each one
  // comes from.
  std::size_t total_bytes;
  int compute_capability;  // major * 10 + minor: 90 for sm_90
  // The CUDA context with lazy module loading (the default since CUDA 12.2) and the cuBLAS and
  // cuDNN handles with the kernels a first GEMM and convolution load. An approximate, documented
  // constant (docs/estimate.md): `tally info --device cuda` measures the real figure, which
  // replaces it for that GPU.
  std::size_t overhead_bytes;

  // What tally's allocator could reserve on this GPU: the total less the overhead.
  std::size_t allocator_capacity() const { return total_bytes - overhead_bytes; }
};

// Every preset, in a stable order (by nominal memory, then name).
const std::vector<DevicePreset>& device_presets();

// Every preset's name, comma-separated, for help texts and errors.
std::string preset_names();

// The preset called `name`; throws a one-line invalid_argument error listing the known names.
const DevicePreset& device_preset(std::string_view name);

// The preset a sim device mimics unless told otherwise.
inline constexpr std::string_view kDefaultPreset = "h100-80gb";

}  // namespace tally
