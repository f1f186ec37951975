// The device overhead `tally info --device cuda` measured, kept per GPU preset so that a later
// `tally estimate --device-preset NAME` adds the measured figure instead of the preset's
// approximate constant (core/device_presets.h). One JSON file per preset in the cache directory:
//
//   overhead-h100-80gb.json  {"preset": "h100-80gb", "bytes": 601882624,
//                             "gpu_name": "NVIDIA H100 80GB HBM3", "date": "2025-01-31"}
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include "core/device_presets.h"

namespace tally::cli {

// $TALLY_CACHE_DIR if set and non-empty, else $XDG_CACHE_HOME/tally, else $HOME/.cache/tally.
// Throws a one-line tally::Error when none of them is set.
std::filesystem::path overhead_cache_dir();

// The preset of this compute capability (major * 10 + minor) whose total is within
// kPresetMatchPercent of `total_bytes` (the runtime's total, cudaDeviceProp::totalGlobalMem), the
// closest if several are; nullptr if none.
const DevicePreset* preset_for_gpu(int compute_capability, std::size_t total_bytes);

// How far, in percent of the GPU's total, the preset's total may be. What the runtime reports for
// one model moves with the driver, which keeps more or less for itself: a T4 reports 14.76 GiB
// under a 2021 driver and 14.56 GiB under 2025 ones, 1.4% apart (docs/estimate.md). 2% covers
// that and still tells apart the two GPUs of one compute capability that are closest in memory,
// the L4 (22.03 GiB) and the RTX 4090 (23.64 GiB), 7% apart.
inline constexpr std::size_t kPresetMatchPercent = 2;

// Writes overhead-<preset>.json in overhead_cache_dir(), creating the directory, replacing what
// an earlier measurement saved.
void save_measured_overhead(const DevicePreset& preset, std::size_t bytes,
                            std::string_view gpu_name);

struct MeasuredOverhead {
  std::size_t bytes = 0;
  std::string gpu_name;
  std::filesystem::path file;  // where it was read, for reports
};

// What save_measured_overhead() saved for `preset`, or nullopt if nothing was. A file that is
// not what it wrote throws a one-line tally::Error naming it.
std::optional<MeasuredOverhead> measured_overhead(const DevicePreset& preset);

}  // namespace tally::cli
