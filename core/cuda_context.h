// The CUDA state that a cuda device's work runs on: a compute stream per device (the allocator's
// stream 0), transfers between the host and devices, strided copies on a device, synchronisation
// and record_stream. Declared in every build. Defined in core/cuda_context.cu when CUDA is built;
// otherwise core/cuda_context_stub.cpp fails, which no working program reaches, because without
// CUDA no cuda device (and so no cuda tensor) can be made.
//
// Every transfer and kernel is ordered on the device's compute stream. The host waits only at
// the explicit synchronisation points: synchronize(), and copies that land in host memory.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>

#include "allocator/device_allocator.h"
#include "core/device.h"

namespace tally {

class Tensor;

// What a stream is for. Its value is the StreamId the allocator keys blocks with.
enum class StreamRole : StreamId { compute = 0, communication = 1 };
inline constexpr int kStreamRoles = 2;

// A stream of a cuda device, as kernel launchers take it: `handle` is the cudaStream_t.
struct CudaStream {
  int device = 0;
  void* handle = nullptr;
  StreamRole role = StreamRole::compute;
};

// A stream of `device` (created on first use), with `device` made current on the calling thread.
CudaStream device_stream(Device device, StreamRole role = StreamRole::compute);
inline CudaStream compute_stream(Device device) {
  return device_stream(device, StreamRole::compute);
}

// Blocks the host until every stream of a cuda device is idle, then returns the blocks whose
// frees were waiting on those streams (see record_stream). Does nothing for cpu and sim.
void synchronize(Device device);

// Copies `bytes` between host memory (cpu) and a cuda device, or between two cuda devices. Copies
// into host memory return when the data is there; the others are queued on the compute stream.
void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device,
                std::size_t bytes);

// dst = src on one cuda device, any strides, same shape and dtype, on the compute stream.
void copy_strided_cuda(const Tensor& dst, const Tensor& src);

// record_stream, as in PyTorch: the streams of a block's device that used it besides the stream
// it was allocated on, as a mask of (1 << role). Its free is deferred until those streams have
// finished the work queued on them at the time of the free, so that no other stream's kernel is
// handed the block while one of them may still read or write it.
using StreamMask = std::uint32_t;
void free_after_streams(std::shared_ptr<DeviceAllocator> allocator, const Allocation& allocation,
                        Device device, StreamMask streams);
// Frees the deferred blocks of `device` whose streams have finished; run before every allocation
// on a cuda device.
void reclaim_stream_frees(Device device);

}  // namespace tally
