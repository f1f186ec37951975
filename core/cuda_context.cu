#include "core/cuda_context.h"

#include <algorithm>
#include <array>
#include <atomic>
#include <deque>
#include <iterator>
#include <mutex>
#include <span>
#include <vector>

#include "allocator/cleanup_errors.h"
#include "allocator/cuda_check.h"
#include "core/on_unwind.h"
#include "core/strided_index.cuh"
#include "core/tensor.h"

namespace tally {
namespace {

void make_current(int device) {
  thread_local int current = -1;
  if (current == device) return;
  CUDA_CHECK(cudaSetDevice(device));
  current = device;
}

// A block waiting for the events recorded on the streams that used it.
struct DeferredFree {
  std::shared_ptr<DeviceAllocator> allocator;
  Allocation allocation;
  std::vector<cudaEvent_t> events;
};

struct DeviceState {
  std::array<cudaStream_t, kStreamRoles> streams{};
  std::deque<DeferredFree> deferred;
};

// Streams live as long as the process, like the allocators (core/device_registry.cpp): they
// must outlive every block queued on them.
struct Registry {
  std::mutex mutex;
  std::vector<DeviceState> devices;
  std::atomic<std::size_t> deferred{0};  // over every device: lets reclaim skip the lock
};

Registry& registry() {
  static Registry* instance = new Registry;
  return *instance;
}

DeviceState& state(int device) {
  Registry& r = registry();
  if (r.devices.size() <= static_cast<std::size_t>(device)) r.devices.resize(device + 1);
  return r.devices[device];
}

int cuda_index(Device device, const char* what) {
  TALLY_CHECK(device.kind == DeviceKind::cuda,
              std::string(what) + ": " + device.str() + " is not a cuda device");
  return device.index;
}

bool all_done(const DeferredFree& f) {
  for (cudaEvent_t e : f.events) {
    const cudaError_t status = cudaEventQuery(e);
    if (status == cudaErrorNotReady) {
      // The answer, not a failure; but the runtime keeps it as the last error, which the next
      // launch check would throw. Read it away, as PyTorch's CUDAEvent::query does.
      cudaGetLastError();
      return false;
    }
    CUDA_CHECK(status);
  }
  return true;
}

// An event that cannot be destroyed is recorded (allocator/cleanup_errors.h), not thrown: this
// runs while blocks are returned and while an earlier failure unwinds.
void destroy_events(std::span<const cudaEvent_t> events) noexcept {
  for (cudaEvent_t e : events) {
    run_cleanup("destroying a record_stream event", [&] { CUDA_CHECK(cudaEventDestroy(e)); });
  }
}

// An event recorded on `stream`, which must belong to the current device.
cudaEvent_t record_event(cudaStream_t stream) {
  cudaEvent_t event = nullptr;
  CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
  const OnUnwind unrecorded([&]() noexcept { destroy_events({&event, 1}); });
  CUDA_CHECK(cudaEventRecord(event, stream));
  return event;
}

// The block goes back whatever happens to its events.
void release(DeferredFree& f) {
  destroy_events(f.events);
  f.allocator->deallocate(f.allocation);
}

}  // namespace

CudaStream device_stream(Device device, StreamRole role) {
  const int index = cuda_index(device, "device_stream");
  make_current(index);
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  cudaStream_t& stream = state(index).streams[static_cast<std::size_t>(role)];
  // Non-blocking: tally's streams never wait on the legacy default stream that other libraries
  // in the process may use.
  if (!stream) CUDA_CHECK(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking));
  return CudaStream{index, stream, role};
}

void synchronize(Device device) {
  if (device.kind != DeviceKind::cuda) return;
  make_current(device.index);
  std::deque<DeferredFree> ready;
  {
    Registry& r = registry();
    std::lock_guard lock(r.mutex);
    DeviceState& s = state(device.index);
    for (cudaStream_t stream : s.streams) {
      if (stream) CUDA_CHECK(cudaStreamSynchronize(stream));
    }
    ready.swap(s.deferred);
    r.deferred.fetch_sub(ready.size(), std::memory_order_relaxed);
  }
  for (DeferredFree& f : ready) release(f);
}

void copy_bytes(void* dst, Device dst_device, const void* src, Device src_device,
                std::size_t bytes) {
  if (bytes == 0) return;
  const bool to_host = dst_device.kind == DeviceKind::cpu;
  const bool from_host = src_device.kind == DeviceKind::cpu;
  TALLY_CHECK(!(to_host && from_host), "copy_bytes: host to host is not a device copy");
  const Device queue_on = to_host ? src_device : dst_device;
  const CudaStream stream = compute_stream(queue_on);
  auto* s = static_cast<cudaStream_t>(stream.handle);
  if (to_host) {
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, s));
    CUDA_CHECK(cudaStreamSynchronize(s));
  } else if (from_host) {
    // From pageable memory the call returns once the source is staged, so the host buffer may
    // be reused as soon as it returns.
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s));
  } else if (dst_device == src_device) {
    CUDA_CHECK(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, s));
  } else {
    // Ordered after both compute streams' queued work (the source's may still be writing src)
    // and before the source's later work: once this returns, src's block may be freed and handed
    // to a kernel on the source's stream while the copy still reads it.
    auto* from = static_cast<cudaStream_t>(compute_stream(src_device).handle);
    const cudaEvent_t written = record_event(from);
    make_current(dst_device.index);
    CUDA_CHECK(cudaStreamWaitEvent(s, written, 0));
    CUDA_CHECK(cudaMemcpyPeerAsync(dst, dst_device.index, src, src_device.index, bytes, s));
    const cudaEvent_t copied = record_event(s);
    make_current(src_device.index);
    CUDA_CHECK(cudaStreamWaitEvent(from, copied, 0));
    // Destroying an event with work pending is allowed: its resources go once it completes.
    CUDA_CHECK(cudaEventDestroy(written));
    CUDA_CHECK(cudaEventDestroy(copied));
  }
}

void free_after_streams(std::shared_ptr<DeviceAllocator> allocator, const Allocation& allocation,
                        Device device, StreamMask streams) {
  DeferredFree f{std::move(allocator), allocation, {}};
  f.events.reserve(kStreamRoles);  // so that no recorded event is lost to a failed push_back
  // If a later stream's event fails, the block stays allocated (core/storage.cpp), and the
  // events already recorded for it go.
  const OnUnwind recorded([&]() noexcept { destroy_events(f.events); });
  for (int role = 0; role < kStreamRoles; ++role) {
    if (!(streams & (1u << role))) continue;
    const CudaStream stream = device_stream(device, static_cast<StreamRole>(role));
    f.events.push_back(record_event(static_cast<cudaStream_t>(stream.handle)));
  }
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  state(device.index).deferred.push_back(std::move(f));
  r.deferred.fetch_add(1, std::memory_order_relaxed);
}

void reclaim_stream_frees(Device device) {
  Registry& r = registry();
  if (r.deferred.load(std::memory_order_relaxed) == 0) return;
  std::vector<DeferredFree> ready;
  {
    std::lock_guard lock(r.mutex);
    auto& deferred = state(cuda_index(device, "reclaim_stream_frees")).deferred;
    // Every query before anything is taken: one that throws leaves the queue and its count as
    // they were, for the next reclaim or synchronize.
    std::size_t done = 0;
    while (done < deferred.size() && all_done(deferred[done])) ++done;
    ready.reserve(done);
    const auto end = deferred.begin() + static_cast<std::ptrdiff_t>(done);
    std::move(deferred.begin(), end, std::back_inserter(ready));
    deferred.erase(deferred.begin(), end);
    r.deferred.fetch_sub(done, std::memory_order_relaxed);
  }
  for (DeferredFree& f : ready) release(f);
}

}  // namespace tally
