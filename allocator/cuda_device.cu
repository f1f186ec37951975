#include "allocator/cuda_device.h"

#include <cuda_runtime_api.h>

namespace tally {

CudaProbe probe_cuda() {
  CudaProbe probe;
  probe.compiled = true;
  // Both answer without a driver (its version is then 0). Should either fail, its output stays 0
  // and its error is read, like every error this probe expects.
  if (cudaRuntimeGetVersion(&probe.runtime_version) != cudaSuccess) cudaGetLastError();
  if (cudaDriverGetVersion(&probe.driver_version) != cudaSuccess) cudaGetLastError();
  // Without a driver cudaGetDeviceCount fails and leaves its output unwritten, hence the 0. Its
  // error is expected here and is read at once, so that no later launch check reports it.
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
    // A device that cannot be queried is left out; its error is read so that no later launch
    // check reports it.
    if (cudaGetDeviceProperties(&prop, i) != cudaSuccess) {
      cudaGetLastError();
      continue;
    }
    probe.devices.push_back(
        CudaDeviceInfo{i, prop.name, prop.totalGlobalMem, prop.major, prop.minor});
  }
  if (probe.devices.empty()) probe.reason = "no device";
  return probe;
}

}  // namespace tally
