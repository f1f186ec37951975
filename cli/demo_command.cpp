// `tally demo`: runs the synthetic training workload through the allocator, prints the
// statistics and writes the trace.
#include <iostream>
#include <memory>

#include "allocator/device_allocator.h"
#include "allocator/error.h"
#include "allocator/host_backing.h"
#include "allocator/trace_csv.h"
#include "allocator/units.h"
#include "allocator/virtual_backing.h"
#include "cli/commands.h"
#include "cli/demo_workload.h"

namespace tally::cli {
namespace {

struct DemoOptions {
  std::string device = "cpu";
  std::string alloc_conf;
  std::string trace = "tally-demo-trace.csv";
  std::string capacity = "80GiB";
  DemoShape shape;
};

int run_demo(const DemoOptions& options) {
  AllocatorConfig config = alloc_conf_from(options.alloc_conf);
  config.record = config.record || !options.trace.empty();
  std::unique_ptr<Backing> backing;
  if (options.device == "sim") {
    const auto capacity = parse_size(options.capacity);
    if (!capacity || *capacity == 0) {
      throw Error("", "invalid_argument", "--capacity: bad size '" + options.capacity + "'");
    }
    backing = std::make_unique<VirtualBacking>(*capacity);
  } else {
    backing = std::make_unique<HostBacking>();
  }
  DeviceAllocator allocator(std::move(backing), config);
  const auto write_trace = [&] {
    if (options.trace.empty()) return;
    const Trace trace = allocator.trace();
    write_trace_csv(trace, options.trace);
    std::cout << "trace: " << trace.events.size() << " events written to " << options.trace << '\n';
  };

  try {
    run_demo_workload(allocator, options.shape);
  } catch (const OutOfMemoryError&) {
    write_trace();  // the trace up to the failure is what explains it
    throw;
  }
  const AllocatorStats stats = allocator.stats();
  std::cout << "tally demo: " << options.shape.steps << " steps of an MLP-shaped workload (batch "
            << options.shape.batch << ") on " << allocator.device() << " with the "
            << allocator.strategy_name() << " strategy\n\n"
            << format_stats(stats) << '\n'
            << "peak allocated " << format_bytes(stats.total.allocated_bytes.peak)
            << ", peak reserved " << format_bytes(stats.reserved_bytes.peak) << ", peak requested "
            << format_bytes(stats.total.requested_bytes.peak) << '\n';
  allocator.empty_cache();  // so that the trace ends with every segment returned
  write_trace();
  return 0;
}

}  // namespace

Command add_demo_command(CLI::App& app) {
  auto options = std::make_shared<DemoOptions>();
  CLI::App* sub =
      app.add_subcommand("demo", "Run a synthetic training-shaped workload through the allocator");
  sub->add_option("--device", options->device, "cpu (host memory) or sim (virtual memory)")
      ->check(CLI::IsMember({"cpu", "sim"}));
  sub->add_option("--capacity", options->capacity, "capacity of the sim device")
      ->capture_default_str();
  sub->add_option("--alloc-conf", options->alloc_conf,
                  "allocator configuration, e.g. strategy:caching,limit:8GiB "
                  "(applied after TALLY_ALLOC_CONF)");
  sub->add_option("--trace", options->trace, "where to write the trace ('' for none)")
      ->capture_default_str();
  sub->add_option("--steps", options->shape.steps, "training steps")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  sub->add_option("--batch", options->shape.batch, "batch size")
      ->check(CLI::Range(1, 1 << 20))
      ->capture_default_str();
  return {sub, [options] { return run_demo(*options); }};
}

}  // namespace tally::cli
