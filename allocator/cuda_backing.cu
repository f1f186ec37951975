#include "allocator/cuda_backing.h"

#include <cuda.h>
#include <cudaTypedefs.h>

#include <string>

#include "allocator/cleanup_errors.h"
#include "allocator/cuda_check.h"

namespace tally {
namespace {

// Makes `device` current for the guard's lifetime, so that allocations land on the right GPU
// whatever the caller's current device is.
class DeviceGuard {
 public:
  explicit DeviceGuard(int device) {
    CUDA_CHECK(cudaGetDevice(&previous_));
    if (previous_ != device) CUDA_CHECK(cudaSetDevice(device));
  }
  ~DeviceGuard() {
    run_cleanup("restoring the current CUDA device", [&] { CUDA_CHECK(cudaSetDevice(previous_)); });
  }
  DeviceGuard(const DeviceGuard&) = delete;
  DeviceGuard& operator=(const DeviceGuard&) = delete;

 private:
  int previous_ = 0;
};

// The driver's virtual memory calls, found through the runtime rather than linked, so that tally
// starts on a machine without a driver (and reports "no device" there).
struct Driver {
  PFN_cuGetErrorName_v6000 error_name;
  PFN_cuMemGetAllocationGranularity_v10020 granularity;
  PFN_cuMemAddressReserve_v10020 address_reserve;
  PFN_cuMemAddressFree_v10020 address_free;
  PFN_cuMemCreate_v10020 create;
  PFN_cuMemRelease_v10020 release;
  PFN_cuMemMap_v10020 map;
  PFN_cuMemSetAccess_v10020 set_access;
  PFN_cuMemUnmap_v10020 unmap;
};

template <typename Fn>
void find(Fn& fn, const char* symbol) {
  void* found = nullptr;
  cudaDriverEntryPointQueryResult status{};
  CUDA_CHECK(cudaGetDriverEntryPointByVersion(symbol, &found, 12000, cudaEnableDefault, &status));
  if (status != cudaDriverEntryPointSuccess || found == nullptr) {
    throw Error(ErrorKind::device, "cudaGetDriverEntryPointByVersion", symbol,
                std::string("the CUDA driver has no ") + symbol);
  }
  fn = reinterpret_cast<Fn>(found);
}

const Driver& driver() {
  static const Driver loaded = [] {
    Driver d{};
    find(d.error_name, "cuGetErrorName");
    find(d.granularity, "cuMemGetAllocationGranularity");
    find(d.address_reserve, "cuMemAddressReserve");
    find(d.address_free, "cuMemAddressFree");
    find(d.create, "cuMemCreate");
    find(d.release, "cuMemRelease");
    find(d.map, "cuMemMap");
    find(d.set_access, "cuMemSetAccess");
    find(d.unmap, "cuMemUnmap");
    return d;
  }();
  return loaded;
}

// CUDA_CHECK's counterpart for driver calls.
#define CU_CHECK(call)                                                                     \
  do {                                                                                     \
    const CUresult tally_result_ = (call);                                                 \
    if (tally_result_ != CUDA_SUCCESS) {                                                   \
      const char* tally_name_ = "CUresult";                                                \
      driver().error_name(tally_result_, &tally_name_);                                    \
      throw ::tally::Error(::tally::ErrorKind::device, #call, tally_name_,                 \
                           "CUresult " + std::to_string(static_cast<int>(tally_result_))); \
    }                                                                                      \
  } while (0)

CUmemAllocationProp page_properties(int device) {
  CUmemAllocationProp prop{};
  prop.type = CU_MEM_ALLOCATION_TYPE_PINNED;
  prop.location.type = CU_MEM_LOCATION_TYPE_DEVICE;
  prop.location.id = device;
  return prop;
}

// An allocator destroyed at process exit may run after the CUDA runtime has started to unload;
// the driver reclaims the memory then, so there is nothing left to return.
bool runtime_unloading() {
  int current = 0;
  const cudaError_t state = cudaGetDevice(&current);
  if (state == cudaErrorCudartUnloading) return true;
  CUDA_CHECK(state);
  return false;
}

}  // namespace

CudaBacking::CudaBacking(int device) : device_(device), capacity_(0) {
  int count = 0;
  CUDA_CHECK(cudaGetDeviceCount(&count));
  TALLY_CHECK(device >= 0 && device < count, "no CUDA device " + std::to_string(device) + " (" +
                                                 std::to_string(count) + " found)");
  DeviceGuard guard(device_);
  std::size_t free = 0;
  CUDA_CHECK(cudaMemGetInfo(&free, &capacity_));
}

void* CudaBacking::do_allocate(std::size_t bytes) {
  DeviceGuard guard(device_);
  void* base = nullptr;
  const cudaError_t status = cudaMalloc(&base, bytes);
  if (status == cudaErrorMemoryAllocation) {
    cudaGetLastError();  // clears the sticky-until-read error so later calls do not see it
    return nullptr;
  }
  CUDA_CHECK(status);
  return base;
}

// A failure throws to Backing::deallocate, which records it and counts the segment as returned.
void CudaBacking::do_deallocate(void* base, std::size_t) {
  if (runtime_unloading()) return;
  DeviceGuard guard(device_);
  const cudaError_t status = cudaFree(base);
  if (status == cudaErrorCudartUnloading) return;
  CUDA_CHECK(status);
}

void* CudaBacking::do_reserve(std::size_t bytes) {
  DeviceGuard guard(device_);
  const Driver& d = driver();
  const CUmemAllocationProp prop = page_properties(device_);
  std::size_t granularity = 0;
  CU_CHECK(d.granularity(&granularity, &prop, CU_MEM_ALLOC_GRANULARITY_MINIMUM));
  TALLY_CHECK(granularity > 0 && kPage % granularity == 0,
              "the device's page granularity does not divide 2 MiB");
  CUdeviceptr base = 0;
  const CUresult result = d.address_reserve(&base, bytes, kPage, 0, 0);
  if (result == CUDA_ERROR_OUT_OF_MEMORY) return nullptr;
  CU_CHECK(result);
  return reinterpret_cast<void*>(base);
}

void CudaBacking::do_unreserve(void* base, std::size_t bytes) {
  if (runtime_unloading()) return;
  CU_CHECK(driver().address_free(reinterpret_cast<CUdeviceptr>(base), bytes));
}

bool CudaBacking::do_map(void* at) {
  DeviceGuard guard(device_);
  const Driver& d = driver();
  const CUmemAllocationProp prop = page_properties(device_);
  CUmemGenericAllocationHandle handle = 0;
  const CUresult created = d.create(&handle, kPage, &prop, 0);
  if (created == CUDA_ERROR_OUT_OF_MEMORY) return false;
  CU_CHECK(created);
  const auto page = reinterpret_cast<CUdeviceptr>(at);
  CUmemAccessDesc access{};
  access.location = prop.location;
  access.flags = CU_MEM_ACCESS_FLAGS_PROT_READWRITE;
  CUresult result = d.map(page, kPage, 0, handle, 0);
  if (result == CUDA_SUCCESS) {
    result = d.set_access(page, kPage, &access, 1);
    if (result != CUDA_SUCCESS) d.unmap(page, kPage);
  }
  if (result != CUDA_SUCCESS) {
    d.release(handle);
    CU_CHECK(result);
  }
  pages_[page] = handle;
  return true;
}

// Unmapping does not wait for work still using the page, as cudaFree would: the device is
// synchronised first, as PyTorch does before it unmaps.
void CudaBacking::do_unmap(void* at) {
  const auto page = reinterpret_cast<std::uintptr_t>(at);
  const std::uint64_t handle = pages_.at(page);
  pages_.erase(page);
  if (runtime_unloading()) return;
  DeviceGuard guard(device_);
  CUDA_CHECK(cudaDeviceSynchronize());
  CU_CHECK(driver().unmap(page, kPage));
  CU_CHECK(driver().release(handle));
}

}  // namespace tally
