// One DeviceAllocator per device, created on first use. Storage keeps its allocator alive, so a
// device can be reconfigured (a fresh allocator with new settings) while old tensors still
// exist: they return their blocks to the allocator they came from.
#pragma once

#include <memory>
#include <string>

#include "allocator/config.h"
#include "allocator/device_allocator.h"
#include "core/device.h"
#include "core/device_presets.h"

namespace tally {

// The device's allocator; created with the configuration from TALLY_ALLOC_CONF on first use.
// Throws a one-line error for a device this build or machine cannot provide.
std::shared_ptr<DeviceAllocator> device_allocator(Device device);

// Replaces the device's allocator with a fresh one built from `config`; returns it. A sim device
// keeps its SimSettings.
std::shared_ptr<DeviceAllocator> configure_device(Device device, const AllocatorConfig& config);

// The GPU a sim device stands for: how much its allocator may reserve, and the compute capability
// that sets what the CUDA libraries take on it (sim:cuda's cuBLAS workspace).
struct SimSettings {
  std::size_t capacity = 0;
  int compute_capability = 0;  // major * 10 + minor
  std::string preset;          // the preset's name; empty for a capacity given in bytes

  static SimSettings of(const DevicePreset& preset);
};

// kDefaultPreset's settings until configure_sim_device says otherwise.
SimSettings sim_settings(Device device);

// configure_device for a sim device that mimics `settings`' GPU from now on.
std::shared_ptr<DeviceAllocator> configure_sim_device(Device device, const AllocatorConfig& config,
                                                      const SimSettings& settings);

}  // namespace tally
