#include "cli/device_memory_report.h"

#include <cstdio>

#include "allocator/units.h"

namespace tally::cli {
namespace {

std::string row(const char* label, std::size_t bytes, const char* note) {
  char line[200];
  std::snprintf(line, sizeof line, "  %-20s %12s  %s\n", label, format_bytes(bytes).c_str(), note);
  return line;
}

}  // namespace

std::string format_device_memory(const ops::DeviceMemory& memory) {
  return "device memory after the last step and evaluation:\n" +
         row("driver used", memory.driver_used,
             memory.this_process ? "this process (NVML)"
                                 : "the whole device (cudaMemGetInfo): other processes included") +
         row("tally reserved", memory.tally_reserved, "the allocator's segments") +
         row("outside tally", memory.outside_tally(), "context, loaded kernels, library handles");
}

nlohmann::json device_memory_json(const ops::DeviceMemory& memory) {
  return {{"driver_used_bytes", memory.driver_used},
          {"tally_reserved_bytes", memory.tally_reserved},
          {"outside_tally_bytes", memory.outside_tally()}};
}

}  // namespace tally::cli
