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

// The sim device's capacity until it is configured otherwise.
constexpr std::size_t kDefaultSimCapacity = 80 * GiB;

std::unique_ptr<Backing> make_backing(Device device) {
  switch (device.kind) {
    case DeviceKind::cpu:
      return std::make_unique<HostBacking>();
    case DeviceKind::sim:
      return std::make_unique<VirtualBacking>(kDefaultSimCapacity);
    case DeviceKind::cuda: {
      const CudaProbe probe = probe_cuda();
      if (static_cast<std::size_t>(device.index) >= probe.devices.size()) {
        const std::string why = probe.devices.empty()
                                    ? probe.reason
                                    : std::to_string(probe.devices.size()) + " device(s) found";
        throw Error("", "invalid_argument", "device " + device.str() + " unavailable: " + why);
      }
#if TALLY_WITH_CUDA
      return std::make_unique<CudaBacking>(device.index);
#endif
    }
  }
  throw Error("", "invalid_argument", "device " + device.str() + " unavailable");
}

struct Registry {
  std::mutex mutex;
  std::map<std::pair<int, int>, std::shared_ptr<DeviceAllocator>> allocators;
};

// Never destroyed: allocators holding device memory must not be torn down during static
// destruction, after the CUDA runtime may have unloaded (as PyTorch's caching allocator).
Registry& registry() {
  static Registry* instance = new Registry;
  return *instance;
}

std::pair<int, int> key(Device device) {
  return {static_cast<int>(device.kind), device.index};
}

}  // namespace

std::shared_ptr<DeviceAllocator> device_allocator(Device device) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto& slot = r.allocators[key(device)];
  if (!slot) slot = std::make_shared<DeviceAllocator>(make_backing(device), alloc_conf_from());
  return slot;
}

std::shared_ptr<DeviceAllocator> configure_device(Device device, const AllocatorConfig& config) {
  auto allocator = std::make_shared<DeviceAllocator>(make_backing(device), config);
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.allocators[key(device)] = allocator;
  return allocator;
}

}  // namespace tally
