// ops/cuda_overhead.h in a build without CUDA, where no cuda device can be made.
#include "allocator/error.h"
#include "ops/cuda_overhead.h"

namespace tally::ops {

CudaOverhead measure_cuda_overhead(Device, const std::function<void()>&) {
  throw UsageError("measure_cuda_overhead: tally was built without CUDA");
}

std::optional<DeviceMemory> device_memory(Device, const DeviceAllocator&) {
  return std::nullopt;
}

}  // namespace tally::ops
