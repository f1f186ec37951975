// What a cuda device spends outside tally's allocator: the CUDA context, and the cuBLAS and cuDNN
// handles with the kernels they load. Device memory in use (cudaMemGetInfo) is measured at each
// step of bringing the device up, and tally's own reserved bytes are taken out, so that the
// remainder is overhead no allocator sees. `tally info --device cuda` reports it; a memory
// estimate adds it to the allocator's reserved peak to give the device total a run needs.
#pragma once

#include <cstddef>

#include "core/device.h"

namespace tally::ops {

struct CudaOverhead {
  std::size_t total = 0;  // the device's memory
  // In use before this process made its context, counted as cudaMemGetInfo counts (its total
  // less the free bytes NVML reported then); with NVML missing the context's figure also holds
  // whatever other processes use.
  bool before_measured = false;
  std::size_t used_before = 0;
  std::size_t context = 0;         // the primary context and the compute stream
  std::size_t libraries = 0;       // cuBLAS and cuDNN handles, and the kernels a first GEMM and
                                   // convolution load, outside tally's allocator
  std::size_t tally_reserved = 0;  // tally's reserved bytes after that warm-up (the cuBLAS
                                   // workspace, and cached blocks of the warm-up's tensors)
};

// Brings `device` up step by step in a process that has not used it yet, measuring each step.
// Built only with CUDA.
CudaOverhead measure_cuda_overhead(Device device);

}  // namespace tally::ops
