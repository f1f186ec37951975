// core/cuda_context.h in a build without CUDA. No cuda device can be made in such a build (the
// device registry refuses it), so only synchronize, which every device accepts, is reachable.
#include "allocator/error.h"
#include "core/cuda_context.h"

namespace tally {
namespace {

[[noreturn]] void not_built(const char* what) {
  throw UsageError(std::string(what) + ": tally was built without CUDA");
}

}  // namespace

CudaStream device_stream(Device, StreamRole) {
  not_built("device_stream");
}

void synchronize(Device device) {
  if (device.kind == DeviceKind::cuda) not_built("synchronize");
}

void copy_bytes(void*, Device, const void*, Device, std::size_t) {
  not_built("copy_bytes");
}

void copy_strided_cuda(const Tensor&, const Tensor&) {
  not_built("copy_strided_cuda");
}

void free_after_streams(std::shared_ptr<DeviceAllocator>, const Allocation&, Device, StreamMask) {
  not_built("free_after_streams");
}

void reclaim_stream_frees(Device) {
  not_built("reclaim_stream_frees");
}

}  // namespace tally
