#include "allocator/cuda_device.h"

#include <cuda_runtime_api.h>

namespace tally {

CudaProbe probe_cuda() {
  CudaProbe probe;
  probe.compiled = true;
  cudaRuntimeGetVersion(&probe.runtime_version);
  cudaDriverGetVersion(&probe.driver_version);
  // Without a driver cudaGetDeviceCount fails and leaves its output unwritten.
  int count = 0;
  const cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    cudaGetLastError();
    if (probe.driver_version == 0) {
      probe.reason = "driver not found";
    } else if (status == cudaErrorNoDevice) {
      probe.reason = "no device";
    } else {
      probe.reason = std::string(cudaGetErrorName(status)) + ": " + cudaGetErrorString(status);
    }
    return probe;
  }
  for (int i = 0; i < count; ++i) {
    cudaDeviceProp prop{};
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) continue;
    probe.devices.push_back(
        CudaDeviceInfo{i, prop.name, prop.totalGlobalMem, prop.major, prop.minor});
  }
  if (probe.devices.empty()) probe.reason = "no device";
  return probe;
}

}  // namespace tally
