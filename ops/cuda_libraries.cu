// The cuBLAS and cuDNN handles (ops/cuda_libraries.cuh). Like the allocators and streams they
// work with, they are created on first use and never destroyed: tearing them down during static
// destruction could run after the CUDA runtime has unloaded (PyTorch leaks its handles too).
#include <map>
#include <mutex>
#include <utility>

#include "allocator/cuda_check.h"
#include "allocator/scope.h"
#include "allocator/units.h"
#include "core/device_registry.h"
#include "core/tensor.h"
#include "ops/cuda_libraries.cuh"
#include "ops/cuda_libraries.h"

namespace tally::ops::cuda {
namespace {

struct BlasEntry {
  cublasHandle_t handle = nullptr;
  Tensor workspace;  // u8 [bytes], tag workspace
};

struct DnnEntry {
  cudnnHandle_t handle = nullptr;
  void* stream = nullptr;
};

struct Registry {
  std::mutex mutex;
  std::map<std::pair<int, void*>, BlasEntry> blas;  // by (device, stream)
  std::map<int, DnnEntry> dnn;                      // by device
};

Registry& registry() {
  static Registry* instance = new Registry;
  return *instance;
}

std::size_t blas_workspace_size(int device) {
  int major = 0, minor = 0;
  CUDA_CHECK(cudaDeviceGetAttribute(&major, cudaDevAttrComputeCapabilityMajor, device));
  CUDA_CHECK(cudaDeviceGetAttribute(&minor, cudaDevAttrComputeCapabilityMinor, device));
  return cublas_workspace_size(major * 10 + minor);
}

bool from_current_allocator(const Tensor& t, Device device) {
  return t.defined() && &t.storage()->allocator() == device_allocator(device).get();
}

// What cublas_workspace_bytes reports for `device`. Called with the registry locked.
void publish_workspace_bytes(const Registry& r, int device) {
  std::size_t bytes = 0;
  for (const auto& [key, entry] : r.blas) {
    if (key.first == device && entry.workspace.defined()) {
      bytes += entry.workspace.storage()->nbytes();
    }
  }
  detail::LibraryState& s = detail::library_state();
  std::lock_guard lock(s.mutex);
  s.cublas_workspace[{DeviceKind::cuda, device}] = bytes;
}

}  // namespace

cublasHandle_t blas_handle(const CudaStream& stream) {
  const Device device{DeviceKind::cuda, stream.device};
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  BlasEntry& e = r.blas[{stream.device, stream.handle}];
  if (!e.handle) {
    CUBLAS_CHECK(cublasCreate(&e.handle));
    // Setting the stream resets the workspace to cuBLAS's own pool: the workspace follows.
    CUBLAS_CHECK(cublasSetStream(e.handle, static_cast<cudaStream_t>(stream.handle)));
    // Reductions that split K (16-bit inputs) stay in f32 rather than in the output's dtype, so
    // that a 16-bit product is rounded once, as on the host.
    CUBLAS_CHECK(cublasSetMathMode(e.handle, CUBLAS_MATH_DISALLOW_REDUCED_PRECISION_REDUCTION));
  }
  // A device reconfigured since (core/device_registry.h) has a fresh allocator: the workspace
  // moves there, so that the new allocator's statistics hold it.
  if (!from_current_allocator(e.workspace, device)) {
    const std::size_t bytes = blas_workspace_size(stream.device);
    const LibraryScope scope(kCublasScope);
    Tensor workspace =
        Tensor::empty({static_cast<std::int64_t>(bytes)}, DType::u8, device, Tag::workspace);
    // Allocated for the compute stream; a handle on another stream uses it there too.
    workspace.storage()->record_stream(stream.role);
    CUBLAS_CHECK(cublasSetWorkspace(e.handle, workspace.raw_data(), bytes));
    e.workspace = std::move(workspace);
    publish_workspace_bytes(r, stream.device);
  }
  return e.handle;
}

cudnnHandle_t dnn_handle(const CudaStream& stream) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  DnnEntry& e = r.dnn[stream.device];
  if (!e.handle) CUDNN_CHECK(cudnnCreate(&e.handle));
  if (e.stream != stream.handle) {
    CUDNN_CHECK(cudnnSetStream(e.handle, static_cast<cudaStream_t>(stream.handle)));
    e.stream = stream.handle;
  }
  return e.handle;
}

}  // namespace tally::ops::cuda
