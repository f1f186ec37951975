// core/cuda_context.h in a build without CUDA. No cuda device can be made in such a build (the
// device registry refuses it), so only synchronize, which every device accepts, is reachable.
#include "allocator/error.h"
#include "core/cuda_context.h"

namespace tally {

CudaStream device_stream(Device, StreamRole) {
  throw UsageError("device_stream: tally was built without CUDA");
}

void synchronize(Device device) {
  if (device.kind == DeviceKind::cuda)
    throw UsageError("synchronize: tally was built without CUDA");
}

void copy_bytes(void*, Device, const void*, Device, std::size_t) {
  throw UsageError("copy_bytes: tally was built without CUDA");
}

void copy_strided_cuda(const Tensor&, const Tensor&) {
  throw UsageError("copy_strided_cuda: tally was built without CUDA");
}

void free_after_streams(std::shared_ptr<DeviceAllocator>, const Allocation&, Device, StreamMask) {
  throw UsageError("free_after_streams: tally was built without CUDA");
}

void reclaim_stream_frees(Device) {
  throw UsageError("reclaim_stream_frees: tally was built without CUDA");
}

}  // namespace tally
