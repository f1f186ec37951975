// `tally info`: version, build options and the devices this process can use.
#include <unistd.h>

#include <iostream>
#include <memory>

#include "allocator/cuda_device.h"
#include "allocator/error.h"
#include "allocator/host_backing.h"
#include "allocator/strategy.h"
#include "allocator/units.h"
#include "cli/commands.h"
#include "cli/overhead_cache.h"
#include "core/device.h"
#include "core/device_presets.h"
#include "distributed/world.h"
#include "nn/data/synthetic.h"
#include "nn/models.h"
#include "nn/trainer.h"
#include "ops/cuda_libraries.h"
#include "ops/cuda_overhead.h"
#include "tally/build_config.h"

namespace tally::cli {
namespace {

const char* on_off(bool value) {
  return value ? "on" : "off";
}

std::string version_text(int version) {
  return std::to_string(version / 1000) + "." + std::to_string(version % 1000 / 10);
}

// One training step and an evaluation of every zoo model with each optimizer, as `tally train`
// runs them (its default batch, synthetic data): every kernel and library call of such a run,
// so that lazy module loading has loaded what the run will need. Runs with other batch sizes may
// have cuBLAS and cuDNN pick kernels from modules this did not load.
void train_every_model(Device device) {
  nn::TrainOptions o;
  o.device = device;
  o.steps = 1;
  data::Dataset one_batch = data::synthetic_fashion_mnist(data::Split::test);
  one_batch.n = o.batch;
  one_batch.images.resize(static_cast<std::size_t>(o.batch * data::kFashionMnistPixels));
  one_batch.labels.resize(static_cast<std::size_t>(o.batch));
  for (const std::string& model : nn::model_names()) {
    for (const char* optimizer : {"sgd", "adamw"}) {
      o.model = model;
      o.optimizer = optimizer;
      o.lr = nn::default_lr(optimizer);
      o.weight_decay = nn::default_weight_decay(optimizer);
      nn::train(o, one_batch, one_batch);
    }
  }
}

// The overhead of bringing `text`'s cuda device up, measured before anything else touches it.
int report_overhead(const std::string& text) {
  const Device device = Device::parse(text);
  if (device.kind != DeviceKind::cuda) {
    throw UsageError("--device takes a cuda device, not " + device.str());
  }
  const CudaProbe probe = probe_cuda();
  if (static_cast<std::size_t>(device.index) >= probe.devices.size()) {
    throw Error(TALLY_WITH_CUDA ? ErrorKind::device : ErrorKind::usage, "", "device_unavailable",
                "device " + device.str() + " unavailable: " +
                    (probe.devices.empty() ? probe.reason
                                           : std::to_string(probe.devices.size()) + " device(s)"));
  }
  const ops::CudaOverhead o =
      ops::measure_cuda_overhead(device, [device] { train_every_model(device); });
  std::cout << device.str()
            << " overhead (device memory outside tally's allocator, after a training step and an "
               "evaluation of every model with every optimizer):\n";
  if (o.before_measured) {
    std::cout << "  in use before this process   " << format_bytes(o.used_before) << '\n';
    std::cout << "  CUDA context and stream      " << format_bytes(o.context) << '\n';
  } else {
    std::cout << "  CUDA context and stream      " << format_bytes(o.context)
              << " (NVML absent: includes other processes' use)\n";
  }
  std::cout << "  kernels, cuBLAS and cuDNN    " << format_bytes(o.libraries) << '\n';
  std::cout << "  tally reserved after them    " << format_bytes(o.tally_reserved)
            << " (cuBLAS workspace " << format_bytes(ops::cublas_workspace_bytes(device)) << ")\n";
  std::cout << "  device total                 " << format_bytes(o.total) << '\n';
  // Kept so that estimates for this GPU add what it really spends instead of a preset constant.
  const CudaDeviceInfo& info = probe.devices[device.index];
  const DevicePreset* preset =
      preset_for_gpu(info.compute_major * 10 + info.compute_minor, info.total_memory);
  if (preset) {
    // The measurement is printed above whatever happens here: a cache that cannot be written
    // costs estimate the measured figure, not this report.
    try {
      save_measured_overhead(*preset, o.context + o.libraries, info.name);
      // Read back for its path, and so that a file estimate could not read fails here, not there.
      std::cout << "saved " << format_bytes(o.context + o.libraries) << " for " << preset->name
                << " to " << measured_overhead(*preset)->file.string()
                << ": `tally estimate --device-preset " << preset->name << "` will use it\n";
    } catch (const Error& e) {
      std::cout << "not saved for tally estimate: " << e.what() << '\n';
    }
  } else {
    std::cout << "no device preset matches this GPU (" << info.name << ", "
              << format_bytes(info.total_memory) << ", sm_" << info.compute_major
              << info.compute_minor << "): nothing saved\n";
  }
  return 0;
}

// The process-group backends this build has, and this process's place when a launcher started it.
void print_distributed() {
  std::string backends = "local";
  if (dist::has_mpi()) backends += ", mpi (" + dist::mpi_version() + ", cpu tensors)";
  if (dist::has_nccl()) backends += ", nccl (" + dist::nccl_version_or_reason() + ", cuda tensors)";
  std::cout << "distributed: " << backends << '\n';
  if (const auto place = dist::launched_world()) {
    std::cout << "world: rank " << place->rank << " of " << place->size << " (local rank "
              << place->local_rank << ")\n";
  }
}

int run_info() {
  std::cout << "tally " << build::kVersion << " (" << build::kBuildType << ", "
            << build::kCxxCompiler << ")\n";
  std::cout << "build: cuda " << on_off(TALLY_WITH_CUDA);
  if (TALLY_WITH_CUDA) std::cout << " (architectures " << build::kCudaArchitectures << ")";
  std::cout << ", mpi " << on_off(TALLY_WITH_MPI) << ", nccl " << on_off(TALLY_WITH_NCCL)
            << ", sanitizers " << on_off(TALLY_SANITIZE) << '\n';
  print_distributed();
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
  std::cout << "  sim:cpu, sim:cuda: available (virtual memory, no data)\n";
  std::cout << "  sim presets: " << preset_names() << " (default " << kDefaultPreset << ")\n";
  return 0;
}

}  // namespace

Command add_info_command(CLI::App& app) {
  CLI::App* sub = app.add_subcommand("info", "Show version, build options and devices");
  auto device = std::make_shared<std::string>();
  sub->add_option("--device", *device,
                  "measure the context and library overhead of this cuda device");
  return {sub, [device] { return device->empty() ? run_info() : report_overhead(*device); }};
}

}  // namespace tally::cli
