#include "cli/sim_options.h"

#include "allocator/error.h"
#include "cli/flag_validators.h"
#include "cli/overhead_cache.h"
#include "ops/conv_algorithm_table.h"

namespace tally::cli {
namespace {

// As good as no limit: a virtual range this large never runs out.
constexpr std::size_t kUnlimited = std::size_t{1} << 60;

ops::ConvWorkspaceSource conv_source(const std::string& text) {
  if (text == "bound") return {};
  return {ops::ConvWorkspacePolicy::recorded, ops::read_conv_algorithms(text), text};
}

}  // namespace

void add_sim_options(CLI::App& sub, SimArgs& args) {
  sub.add_option("--device-preset", args.preset, "the GPU sim:cuda stands for: " + preset_names())
      ->capture_default_str();
  sub.add_option("--capacity", args.capacity,
                 "the device's memory, e.g. 12GiB, instead of the preset's (sim only)")
      ->transform(byte_size())
      ->type_name("SIZE");
  sub.add_option("--conv-workspace", args.conv_workspace,
                 "sim:cuda's cuDNN workspaces: bound (the workspace limit, an upper bound) or a "
                 "file written by tally train --device cuda --conv-log")
      ->capture_default_str();
}

bool sim_options_given(const CLI::App& sub) {
  return sub.count("--device-preset") + sub.count("--capacity") + sub.count("--conv-workspace") > 0;
}

std::size_t SimPlan::allocator_capacity() const {
  if (!limited()) return kUnlimited;
  return memory > overhead ? memory - overhead : 0;
}

SimPlan resolve_sim(const SimArgs& args, Device device) {
  TALLY_CHECK(device.kind == DeviceKind::sim, "resolve_sim given " + device.str());
  SimPlan plan;
  plan.device = device;
  plan.memory = args.capacity;
  if (device.sim_target() == SimTarget::cpu) return plan;
  plan.preset = &device_preset(args.preset);
  if (!plan.limited()) plan.memory = plan.preset->total_bytes;
  plan.overhead = plan.preset->overhead_bytes;
  plan.overhead_source = "the preset's constant";
  if (const auto measured = measured_overhead(*plan.preset)) {
    plan.overhead = measured->bytes;
    plan.overhead_source =
        "measured on " + measured->gpu_name + " (" + measured->file.string() + ")";
  }
  plan.conv_workspace = conv_source(args.conv_workspace);
  return plan;
}

std::shared_ptr<DeviceAllocator> configure_sim(const SimPlan& plan, const AllocatorConfig& config,
                                               bool unlimited) {
  ops::set_sim_conv_workspace(plan.conv_workspace);
  SimSettings settings;
  settings.capacity = unlimited ? kUnlimited : plan.allocator_capacity();
  if (plan.preset) {
    settings.compute_capability = plan.preset->compute_capability;
    settings.preset = plan.preset->name;
  }
  return configure_sim_device(plan.device, config, settings);
}

}  // namespace tally::cli
