#include "core/device_presets.h"

#include "allocator/error.h"
#include "allocator/units.h"

namespace tally {

const std::vector<DevicePreset>& device_presets() {
  static const std::vector<DevicePreset> presets{
      // Totals in MiB from figures given in GiB to two decimals (docs/estimate.md), except the
      // A100 40GB's, which a deviceQuery gave in bytes.
      {"t4-16gb", "Tesla T4", 14909 * MiB, 75, 350 * MiB},
      {"l4-24gb", "NVIDIA L4", 22559 * MiB, 89, 450 * MiB},
      {"rtx4090-24gb", "NVIDIA GeForce RTX 4090", 24207 * MiB, 89, 450 * MiB},
      {"a100-40gb", "NVIDIA A100-SXM4-40GB", 42298834944, 80, 500 * MiB},
      {"a100-80gb", "NVIDIA A100-SXM4-80GB", 81152 * MiB, 80, 500 * MiB},
      {"h100-80gb", "NVIDIA H100 80GB HBM3", 81009 * MiB, 90, 600 * MiB},
      {"h200-141gb", "NVIDIA H200", 143155 * MiB, 90, 600 * MiB},
  };
  return presets;
}

std::string preset_names() {
  std::string names;
  for (const DevicePreset& p : device_presets()) {
    names += (names.empty() ? "" : ", ") + std::string(p.name);
  }
  return names;
}

const DevicePreset& device_preset(std::string_view name) {
  for (const DevicePreset& p : device_presets()) {
    if (p.name == name) return p;
  }
  throw UsageError("unknown device preset '" + std::string(name) + "' (expected one of " +
                   preset_names() + ")");
}

}  // namespace tally
