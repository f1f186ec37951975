#include "allocator/cuda_device.h"

namespace tally {

CudaProbe probe_cuda() {
  CudaProbe probe;
  probe.reason = "not built with CUDA";
  return probe;
}

}  // namespace tally
