#include "allocator/cuda_backing.h"

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
  // An allocator destroyed at process exit may run after the CUDA runtime has started to
  // unload; the driver reclaims the memory then, so there is nothing left to return.
  int current = 0;
  const cudaError_t state = cudaGetDevice(&current);
  if (state == cudaErrorCudartUnloading) return;
  CUDA_CHECK(state);
  DeviceGuard guard(device_);
  const cudaError_t status = cudaFree(base);
  if (status == cudaErrorCudartUnloading) return;
  CUDA_CHECK(status);
}

}  // namespace tally
