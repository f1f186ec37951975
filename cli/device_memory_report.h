// The block a cuda run of `tally train` ends with: the device memory the driver counts, what
// tally's allocator reserved, and the difference, which no allocator sees (the CUDA context,
// loaded kernels, library handles).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

#include "ops/cuda_overhead.h"

namespace tally::cli {

std::string format_device_memory(const ops::DeviceMemory& memory);

// {"driver_used_bytes": N, "tally_reserved_bytes": N, "outside_tally_bytes": N}
nlohmann::json device_memory_json(const ops::DeviceMemory& memory);

}  // namespace tally::cli
