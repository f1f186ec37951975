// What CUDA devices this process can use, and if none, why. Always available: without CUDA
// support compiled in, the answer says so.
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace tally {

struct CudaDeviceInfo {
  int index = 0;
  std::string name;
  std::size_t total_memory = 0;
  int compute_major = 0;
  int compute_minor = 0;
};

struct CudaProbe {
  bool compiled = false;
  int runtime_version = 0;  // e.g. 13000
  int driver_version = 0;   // 0 when no driver is installed
  std::vector<CudaDeviceInfo> devices;
  std::string reason;  // why devices is empty: "driver not found", "not built with CUDA", ...
};

CudaProbe probe_cuda();

}  // namespace tally
