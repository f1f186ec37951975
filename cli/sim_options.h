// The options that say which GPU a sim device stands for, shared by train, estimate and fit:
// --device-preset, --capacity and --conv-workspace, and what they resolve to.
#pragma once

#include <CLI/CLI.hpp>
#include <cstddef>
#include <string>

#include "allocator/config.h"
#include "core/device.h"
#include "core/device_presets.h"
#include "core/device_registry.h"
#include "ops/sim_libraries.h"

namespace tally::cli {

struct SimArgs {
  std::string preset{kDefaultPreset};
  std::size_t capacity = 0;              // the device's memory, overriding the preset's; 0: none
  std::string conv_workspace = "bound";  // or a file written by train --conv-log
};

void add_sim_options(CLI::App& sub, SimArgs& args);

// Whether the command line gave any of them, defaults spelled out included.
bool sim_options_given(const CLI::App& sub);

// The device a run on sim stands for, and what of its memory tally's allocator may use.
struct SimPlan {
  Device device;
  const DevicePreset* preset = nullptr;  // sim:cuda only
  std::size_t memory = 0;       // the device's memory; 0 for sim:cpu without --capacity (unlimited)
  std::size_t overhead = 0;     // context and libraries outside the allocator (sim:cuda only)
  std::string overhead_source;  // "preset constant" or where the measured figure came from
  ops::ConvWorkspaceSource conv_workspace;  // sim:cuda's cuDNN workspace policy

  bool limited() const { return memory > 0; }
  // What the allocator may reserve: the memory less the overhead.
  std::size_t allocator_capacity() const;
};

// Resolves `args` for `device` (a sim device); one-line errors for an unknown preset or an
// unreadable workspace log.
SimPlan resolve_sim(const SimArgs& args, Device device);

// A fresh allocator for the plan's device from `config`, with the plan's capacity (or, when
// `unlimited`, none: to learn what a run that does not fit would need), and the plan's cuDNN
// policy with its counts restarted (ops::describe_sim_conv_workspace() tells them after a run).
std::shared_ptr<DeviceAllocator> configure_sim(const SimPlan& plan, const AllocatorConfig& config,
                                               bool unlimited = false);

}  // namespace tally::cli
