#include "core/device_registry.h"

#include <map>
#include <mutex>

#include "allocator/cuda_device.h"
#include "allocator/error.h"
#include "allocator/host_backing.h"
#include "allocator/units.h"
#include "allocator/virtual_backing.h"
#include "tally/build_config.h"

#if TALLY_WITH_CUDA
#include "allocator/cuda_backing.h"
#endif

namespace tally {
namespace {

struct Registry {
  std::mutex mutex;
  std::map<std::pair<int, int>, std::shared_ptr<DeviceAllocator>> allocators;
  std::map<int, SimSettings> sim;  // by SimTarget
};

// Never destroyed: allocators holding device memory must not be torn down during static
// destruction, after the CUDA runtime may have unloaded (as PyTorch's caching allocator).
Registry& registry() {
  static Registry* instance = new Registry;
  return *instance;
}

// Called with the registry locked.
SimSettings& sim_slot(Registry& r, Device device) {
  const auto [it, inserted] = r.sim.try_emplace(device.index);
  if (inserted) it->second = SimSettings::of(device_preset(kDefaultPreset));
  return it->second;
}

// Called with the registry locked.
std::unique_ptr<Backing> make_backing(Registry& r, Device device) {
  switch (device.kind) {
    case DeviceKind::cpu:
      return std::make_unique<HostBacking>();
    case DeviceKind::sim:
      return std::make_unique<VirtualBacking>(sim_slot(r, device).capacity,
                                              VirtualBacking::kDefaultBase, device.str());
    case DeviceKind::cuda: {
      const CudaProbe probe = probe_cuda();
      if (static_cast<std::size_t>(device.index) >= probe.devices.size()) {
        const std::string why = probe.devices.empty()
                                    ? probe.reason
                                    : std::to_string(probe.devices.size()) + " device(s) found";
        // Built without CUDA, asking for it is a usage error; built with it, a missing device is
        // the machine's.
        throw Error(TALLY_WITH_CUDA ? ErrorKind::device : ErrorKind::usage, "",
                    "device_unavailable", "device " + device.str() + " unavailable: " + why);
      }
#if TALLY_WITH_CUDA
      return std::make_unique<CudaBacking>(device.index);
#endif
    }
  }
  throw UsageError("device " + device.str() + " unavailable");
}

std::pair<int, int> key(Device device) {
  return {static_cast<int>(device.kind), device.index};
}

}  // namespace

std::shared_ptr<DeviceAllocator> device_allocator(Device device) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto& slot = r.allocators[key(device)];
  if (!slot) slot = std::make_shared<DeviceAllocator>(make_backing(r, device), alloc_conf_from());
  return slot;
}

std::shared_ptr<DeviceAllocator> configure_device(Device device, const AllocatorConfig& config) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto allocator = std::make_shared<DeviceAllocator>(make_backing(r, device), config);
  r.allocators[key(device)] = allocator;
  return allocator;
}

SimSettings SimSettings::of(const DevicePreset& preset) {
  return {preset.allocator_capacity(), preset.compute_capability, std::string(preset.name)};
}

SimSettings sim_settings(Device device) {
  if (device.kind != DeviceKind::sim) throw UsageError("sim settings asked of " + device.str());
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  return sim_slot(r, device);
}

std::shared_ptr<DeviceAllocator> configure_sim_device(Device device, const AllocatorConfig& config,
                                                      const SimSettings& settings) {
  if (device.kind != DeviceKind::sim) throw UsageError("sim settings given to " + device.str());
  {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    sim_slot(r, device) = settings;
  }
  return configure_device(device, config);
}

}  // namespace tally
