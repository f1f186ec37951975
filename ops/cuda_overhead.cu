#include "ops/cuda_overhead.h"

#include <dlfcn.h>

#include "allocator/cuda_check.h"
#include "core/cuda_context.h"
#include "core/device_registry.h"
#include "ops/conv2d.h"
#include "ops/cuda_libraries.cuh"
#include "ops/factory.h"
#include "ops/matmul.h"

namespace tally::ops {
namespace {

// NVML's stable C ABI, loaded at run time: the library comes with the driver, so linking it
// would stop tally from starting on machines without one.
struct NvmlMemory {
  unsigned long long total, free, used;
};
using NvmlInit = int (*)();
using NvmlByPciBusId = int (*)(const char*, void**);
using NvmlMemoryInfo = int (*)(void*, NvmlMemory*);

// Free memory on `device` as the driver counts it, before any context exists; false when NVML
// cannot say. Free rather than used: nvmlMemory_t's total is the physical memory and its used
// includes what the driver reserves, neither of which cudaMemGetInfo counts, while both report
// the same unallocated bytes.
bool nvml_free(int device, std::size_t& free) {
  void* nvml = dlopen("libnvidia-ml.so.1", RTLD_NOW | RTLD_LOCAL);
  if (!nvml) return false;
  const auto init = reinterpret_cast<NvmlInit>(dlsym(nvml, "nvmlInit_v2"));
  const auto by_bus =
      reinterpret_cast<NvmlByPciBusId>(dlsym(nvml, "nvmlDeviceGetHandleByPciBusId_v2"));
  const auto info = reinterpret_cast<NvmlMemoryInfo>(dlsym(nvml, "nvmlDeviceGetMemoryInfo"));
  // CUDA and NVML may number devices differently: the PCI bus id names the same one to both.
  // Reading it, like the other device queries, makes no context.
  char bus_id[32] = {};
  void* handle = nullptr;
  NvmlMemory memory{};
  const bool ok = init && by_bus && info && init() == 0 &&
                  cudaDeviceGetPCIBusId(bus_id, sizeof bus_id, device) == cudaSuccess &&
                  by_bus(bus_id, &handle) == 0 && info(handle, &memory) == 0;
  if (ok) free = memory.free;
  return ok;
}

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

CudaOverhead measure_cuda_overhead(Device device) {
  CudaOverhead o;
  std::size_t free_before = 0;
  o.before_measured = nvml_free(device.index, free_before);
  const CudaStream stream = compute_stream(device);  // creates the context, then the stream
  CUDA_CHECK(cudaFree(nullptr));
  const std::size_t with_context = device_used(&o.total);
  if (o.before_measured) o.used_before = minus(o.total, free_before);
  o.context = minus(with_context, o.used_before);

  const auto allocator = device_allocator(device);
  cuda::blas_handle(stream);
  cuda::dnn_handle(stream);
  {
    // Kernels load on first use: one GEMM and one convolution bring in what training needs.
    const Tensor a = randn({64, 64}, device);
    matmul(a, a);
    conv2d(randn({2, 3, 8, 8}, device), randn({4, 3, 3, 3}, device), Tensor(), 1, 1);
    synchronize(device);
  }
  o.tally_reserved = static_cast<std::size_t>(allocator->stats().reserved_bytes.current);
  o.libraries = minus(device_used(), with_context + o.tally_reserved);
  return o;
}

}  // namespace tally::ops
