#include "distributed/world.h"

#include "allocator/error.h"

namespace tally::dist {

bool has_mpi() { return false; }
bool has_nccl() { return false; }

std::shared_ptr<ProcessGroup> world_group(Device device, std::chrono::milliseconds) {
  if (device.kind != DeviceKind::cpu) {
    throw UsageError("world_group: no process group for " + device.str() + " in this build");
  }
  static const auto group = std::make_shared<LocalProcessGroup>(Device::cpu());
  return group;
}

void abort_world(int) {}

}  // namespace tally::dist
