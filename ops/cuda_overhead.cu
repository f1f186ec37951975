#include "ops/cuda_overhead.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <vector>

#include "allocator/cuda_check.h"
#include "core/cuda_context.h"
#include "core/device_registry.h"

namespace tally::ops {
namespace {

// NVML's stable C ABI, loaded at run time: the library comes with the driver, so linking it
// would stop tally from starting on machines without one.
struct NvmlMemory {
  unsigned long long total, free, used;
};
// nvmlProcessInfo_v1_t, which the unversioned nvmlDeviceGetComputeRunningProcesses takes in
// every NVML; later versions of the struct grew fields.
struct NvmlProcess {
  unsigned int pid;
  unsigned long long used;
};
using NvmlInit = int (*)();
using NvmlByPciBusId = int (*)(const char*, void**);
using NvmlMemoryInfo = int (*)(void*, NvmlMemory*);
using NvmlProcesses = int (*)(void*, unsigned int*, NvmlProcess*);
constexpr int kNvmlSuccess = 0;
constexpr int kNvmlInsufficientSize = 7;
constexpr unsigned long long kNvmlValueNotAvailable = ULLONG_MAX;

struct Nvml {
  NvmlByPciBusId by_bus = nullptr;
  NvmlMemoryInfo memory = nullptr;
  NvmlProcesses processes = nullptr;
};

// Loaded and initialised once; nullptr when NVML is missing or does not start.
const Nvml* nvml() {
  static const Nvml* loaded = []() -> const Nvml* {
    void* library = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
    if (!library) return nullptr;
    const auto init = reinterpret_cast<NvmlInit>(dlsym(library, "nvmlInit_v2"));
    static Nvml n;
    n.by_bus = reinterpret_cast<NvmlByPciBusId>(dlsym(library, "nvmlDeviceGetHandleByPciBusId_v2"));
    n.memory = reinterpret_cast<NvmlMemoryInfo>(dlsym(library, "nvmlDeviceGetMemoryInfo"));
    n.processes =
        reinterpret_cast<NvmlProcesses>(dlsym(library, "nvmlDeviceGetComputeRunningProcesses"));
    return init && n.by_bus && init() == kNvmlSuccess ? &n : nullptr;
  }();
  return loaded;
}

// NVML's handle for cuda device `device`, or nullptr. CUDA and NVML may number devices
// differently: the PCI bus id names the same one to both. Reading it, like the other device
// queries, makes no context.
void* nvml_device(const Nvml& n, int device) {
  char bus_id[32] = {};
  if (cudaDeviceGetPCIBusId(bus_id, sizeof bus_id, device) != cudaSuccess) {
    cudaGetLastError();  // an answer of "no", not an error for the next launch check
    return nullptr;
  }
  void* handle = nullptr;
  return n.by_bus(bus_id, &handle) == kNvmlSuccess ? handle : nullptr;
}

// Free memory on `device` as the driver counts it, before any context exists; false when NVML
// cannot say. Free rather than used: nvmlMemory_t's total is the physical memory and its used
// includes what the driver reserves, neither of which cudaMemGetInfo counts, while both report
// the same unallocated bytes.
bool nvml_free(int device, std::size_t& free) {
  const Nvml* n = nvml();
  void* handle = n && n->memory ? nvml_device(*n, device) : nullptr;
  NvmlMemory memory{};
  if (!handle || n->memory(handle, &memory) != kNvmlSuccess) return false;
  free = memory.free;
  return true;
}

// This process's memory on `device` as NVML counts it; false when NVML cannot say.
bool nvml_process_used(int device, std::size_t& used) {
  const Nvml* n = nvml();
  void* handle = n && n->processes ? nvml_device(*n, device) : nullptr;
  if (!handle) return false;
  std::vector<NvmlProcess> list(16);
  unsigned int count = 0;
  int status = kNvmlInsufficientSize;
  // The list may grow between the calls: retry a few times with the size NVML asks for.
  for (int attempt = 0; attempt < 4 && status == kNvmlInsufficientSize; ++attempt) {
    count = static_cast<unsigned int>(list.size());
    status = n->processes(handle, &count, list.data());
    if (status == kNvmlInsufficientSize) list.resize(count + 4);
  }
  if (status != kNvmlSuccess) return false;
  const auto self = static_cast<unsigned int>(getpid());
  for (unsigned int i = 0; i < count; ++i) {
    if (list[i].pid == self && list[i].used != kNvmlValueNotAvailable) {
      used = list[i].used;
      return true;
    }
  }
  return false;
}

// Used memory of the current device, as cudaMemGetInfo counts it: every process's.
std::size_t device_used(std::size_t* total = nullptr) {
  std::size_t free = 0, all = 0;
  CUDA_CHECK(cudaMemGetInfo(&free, &all));
  if (total) *total = all;
  return all - free;
}

// a - b, or 0 where the driver's page-granular counts put b above a.
std::size_t minus(std::size_t a, std::size_t b) {
  return a > b ? a - b : 0;
}

}  // namespace

CudaOverhead measure_cuda_overhead(Device device, const std::function<void()>& workload) {
  CudaOverhead o;
  std::size_t free_before = 0;
  o.before_measured = nvml_free(device.index, free_before);
  compute_stream(device);  // creates the context, then the stream
  CUDA_CHECK(cudaFree(nullptr));
  const std::size_t with_context = device_used(&o.total);
  if (o.before_measured) o.used_before = minus(o.total, free_before);
  o.context = minus(with_context, o.used_before);

  const auto allocator = device_allocator(device);
  workload();
  synchronize(device);
  o.tally_reserved = static_cast<std::size_t>(allocator->stats().reserved_bytes.current);
  o.libraries = minus(device_used(), with_context + o.tally_reserved);
  return o;
}

std::optional<DeviceMemory> device_memory(Device device, const DeviceAllocator& allocator) {
  if (device.kind != DeviceKind::cuda) return std::nullopt;
  DeviceMemory m;
  m.tally_reserved = static_cast<std::size_t>(allocator.stats().reserved_bytes.current);
  m.this_process = nvml_process_used(device.index, m.driver_used);
  if (!m.this_process) {
    compute_stream(device);  // makes the device current for cudaMemGetInfo
    m.driver_used = device_used();
  }
  return m;
}

}  // namespace tally::ops
