// `tally info`: version, build options and the devices this process can use.
#include <unistd.h>

#include <iostream>

#include "allocator/cuda_device.h"
#include "allocator/host_backing.h"
#include "allocator/strategy.h"
#include "allocator/units.h"
#include "cli/commands.h"
#include "tally/build_config.h"

namespace tally::cli {
namespace {

const char* on_off(bool value) {
  return value ? "on" : "off";
}

std::string version_text(int version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

int run_info() {
  std::cout << "tally " << build::kVersion << " (" << build::kBuildType << ", "
            << build::kCxxCompiler << ")\n";
  std::cout << "build: cuda " << on_off(TALLY_WITH_CUDA);
  if (TALLY_WITH_CUDA) std::cout << " (architectures " << build::kCudaArchitectures << ")";
  std::cout << ", mpi " << on_off(TALLY_WITH_MPI) << ", sanitizers " << on_off(TALLY_SANITIZE)
            << '\n';
  std::string strategies;
  for (const auto& name : strategy_names()) strategies += (strategies.empty() ? "" : ", ") + name;
  std::cout << "strategies: " << strategies << '\n';

  std::cout << "devices:\n";
  std::cout << "  cpu: " << sysconf(_SC_NPROCESSORS_ONLN) << " cores, "
            << format_bytes(HostBacking().capacity()) << " memory\n";
  const CudaProbe cuda = probe_cuda();
  if (cuda.devices.empty()) {
    std::cout << "  cuda: none (" << cuda.reason << ")\n";
  } else {
    for (const CudaDeviceInfo& d : cuda.devices) {
      std::cout << "  cuda:" << d.index << ": " << d.name << ", " << format_bytes(d.total_memory)
                << ", sm_" << d.compute_major << d.compute_minor << '\n';
    }
  }
  if (cuda.compiled) {
    std::cout << "  cuda runtime " << version_text(cuda.runtime_version) << ", driver "
              << (cuda.driver_version ? version_text(cuda.driver_version) : "none") << '\n';
  }
  std::cout << "  sim: available (virtual memory, no data)\n";
  return 0;
}

}  // namespace

Command add_info_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("info", "Show version, build options and devices");
  return {sub, run_info};
}

}  // namespace tally::cli
