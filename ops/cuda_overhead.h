// What a cuda device spends outside tally's allocator: the CUDA context, the cuBLAS and cuDNN
// handles, and the kernel images loaded for a run's kernels and library calls (with lazy module
// loading, the default since CUDA 12.2, each is loaded on its first launch, into memory no
// allocator sees). Two figures: measure_cuda_overhead(), which `tally info --device cuda` runs in
// a fresh process and saves for estimates, and device_memory(), which `tally train` reads at the
// end of a cuda run. Built with CUDA in ops/cuda_overhead.cu; ops/cuda_overhead_stub.cpp without.
#pragma once

#include <cstddef>
#include <functional>
#include <optional>

#include "allocator/device_allocator.h"
#include "core/device.h"

namespace tally::ops {

struct CudaOverhead {
  std::size_t total = 0;  // the device's memory, as cudaMemGetInfo counts it
  // In use before this process made its context, counted as cudaMemGetInfo counts (its total
  // less the free bytes NVML reported then); with NVML missing the context's figure also holds
  // whatever other processes use.
  bool before_measured = false;
  std::size_t used_before = 0;
  std::size_t context = 0;         // the primary context and the compute stream
  std::size_t libraries = 0;       // the cuBLAS and cuDNN handles and every kernel image the
                                   // workload loaded, outside tally's allocator
  std::size_t tally_reserved = 0;  // tally's reserved bytes after the workload (the cuBLAS
                                   // workspace, and cached blocks of the workload's tensors)
};

// Brings `device` up in a process that has not used it yet: reads the device's used memory
// before, after the context and stream exist, and after `workload` has run to completion, and
// takes tally's reserved bytes out. `workload` must launch everything the runs to be predicted
// launch (whole training steps and evaluation, every model and optimizer), since a kernel it
// leaves out is loaded later, outside the figure. Throws without CUDA.
CudaOverhead measure_cuda_overhead(Device device, const std::function<void()>& workload);

// The device's memory as the driver counts it against what tally holds, at one moment.
struct DeviceMemory {
  // This process's device memory as NVML reports it (what nvidia-smi lists for the process)
  // when it can: `this_process` is then true. Otherwise the device's used memory from
  // cudaMemGetInfo (its total less its free bytes), which also holds every other process's
  // contexts and allocations on the same GPU: their bytes then show up in outside_tally().
  // NVML cannot be asked where it is missing, or where this process's id is not the one NVML
  // knows it by (a container with its own process ids).
  std::size_t driver_used = 0;
  bool this_process = false;
  std::size_t tally_reserved = 0;  // the allocator's reserved bytes

  // The context, loaded kernels and library handles (and, unless this_process, other
  // processes); 0 where page-granular driver counts put reserved above used.
  std::size_t outside_tally() const {
    return driver_used > tally_reserved ? driver_used - tally_reserved : 0;
  }
};

// `allocator`'s reserved bytes and the driver's used memory of `device`; nullopt unless
// `device` is a cuda device.
std::optional<DeviceMemory> device_memory(Device device, const DeviceAllocator& allocator);

}  // namespace tally::ops
