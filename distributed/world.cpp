#include "distributed/world.h"

#include <map>
#include <mutex>
#include <utility>

#include "allocator/error.h"
#include "tally/build_config.h"

#if TALLY_WITH_MPI
#include "distributed/mpi_process_group.h"
#include "distributed/mpi_runtime.h"
#endif
#if TALLY_WITH_NCCL
#include "distributed/nccl_library.h"
#include "distributed/nccl_process_group_cuda.h"
#endif

namespace tally::dist {
namespace {

std::shared_ptr<ProcessGroup> make_cpu_group(std::chrono::milliseconds timeout) {
#if TALLY_WITH_MPI
  if (mpi::launched()) return std::make_shared<MpiProcessGroup>(timeout);
#endif
  static_cast<void>(timeout);
  return std::make_shared<LocalProcessGroup>(Device::cpu());
}

std::shared_ptr<ProcessGroup> make_cuda_group(Device device, std::chrono::milliseconds timeout) {
#if TALLY_WITH_NCCL
  const std::optional<WorldPlace> place = launched_world();
  if (place && place->size > 1 && device.index != place->local_rank) {
    throw UsageError("process group: rank " + std::to_string(place->rank) + " has local rank " +
                     std::to_string(place->local_rank) + ", so it uses cuda:" +
                     std::to_string(place->local_rank) + ", not " + device.str());
  }
  return std::make_shared<NcclProcessGroup>(device, timeout);
#else
  static_cast<void>(timeout);
  throw UsageError("process group: " + device.str() +
                   " needs NCCL, and this build has none (see tally info)");
#endif
}

}  // namespace

bool has_mpi() {
  return build::kWithMpi;
}

bool has_nccl() {
  return build::kWithNccl;
}

std::shared_ptr<ProcessGroup> world_group(Device device, std::chrono::milliseconds timeout) {
  if (device.kind == DeviceKind::sim) {
    throw UsageError("process group: " + device.str() +
                     " has no world; simulate a rank with LocalProcessGroup");
  }
  // Never destroyed: groups hold communicators that must not be torn down after MPI or the CUDA
  // runtime have finished at exit.
  static auto* groups = new std::map<std::pair<DeviceKind, int>, std::shared_ptr<ProcessGroup>>;
  static std::mutex mutex;
  std::lock_guard lock(mutex);
  auto& group = (*groups)[{device.kind, device.index}];
  if (!group) {
    group =
        device.kind == DeviceKind::cpu ? make_cpu_group(timeout) : make_cuda_group(device, timeout);
  }
  return group;
}

std::optional<WorldPlace> launched_world() {
#if TALLY_WITH_MPI
  if (mpi::launched()) {
    const mpi::World& w = mpi::world();
    return WorldPlace{w.rank, w.size, w.local_rank};
  }
#endif
  return std::nullopt;
}

void abort_world(int status) {
#if TALLY_WITH_MPI
  mpi::abort_world(status);
#else
  static_cast<void>(status);
#endif
}

std::string mpi_version() {
#if TALLY_WITH_MPI
  return mpi::library_version();
#else
  return "";
#endif
}

std::string nccl_version_or_reason() {
#if TALLY_WITH_NCCL
  try {
    return nccl_version();
  } catch (const Error& e) {
    return std::string("unavailable: ") + e.what();
  }
#else
  return "";
#endif
}

}  // namespace tally::dist
