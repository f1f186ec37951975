// What estimate and fit share: the flags describing the training step to simulate, the
// simulation itself (on the plan's device, and again without a limit when the step does not
// fit, to learn what it would need), and the step's footprint on the device: the allocator's
// reserved peak plus the context and libraries outside it.
#pragma once

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "allocator/event.h"
#include "allocator/stats.h"
#include "cli/parallel_options.h"
#include "cli/sim_options.h"
#include "nn/estimate.h"

namespace tally::cli {

struct StepArgs {
  nn::TrainOptions train;
  std::string target = "cuda";
  bool checkpoint_auto = false;  // fit --checkpoint auto
  // Two by default: the second step is the first in steady state, with the optimizer state the
  // first step created alive from its start (AdamW's moments raise the second step's peak).
  std::int64_t steps = 2;
  std::string alloc_conf;
  ParallelArgs parallel;  // --world-size and what goes with it

  // Fills the training options as tally train would (under DDP on a LocalProcessGroup standing
  // for rank --rank of --world-size), and returns the sim device of the target.
  Device resolve();
};

// add_model_options' flags (--checkpoint auto too when `checkpoint_auto`), --target, --steps,
// --alloc-conf and the world options (cli/parallel_options.h), named as tally train names them.
void add_step_options(CLI::App& sub, StepArgs& args, bool checkpoint_auto = false);

// resolve_sim for the step: the plan of its target, whose overhead also holds --nccl-bytes (a
// usage error for a cpu target).
SimPlan resolve_step_plan(const SimArgs& sim, const StepArgs& step, Device device);

struct SimRun {
  nn::EstimateResult result;
  Trace trace;
  AllocatorStats stats;
  std::string oom;  // the out-of-memory error on the plan's device; empty when the step fits
};

// Simulates `steps` steps of `train` (its device set to the plan's) within the plan's capacity;
// when that runs out of memory, again without a limit, so that the figures say what it needs.
SimRun simulate(const SimPlan& plan, const AllocatorConfig& config, nn::TrainOptions train,
                std::int64_t steps);

struct Footprint {
  std::int64_t reserved_peak = 0;
  std::int64_t overhead = 0;
  std::int64_t total = 0;  // reserved_peak + overhead
  bool fits = true;
  std::int64_t margin = 0;  // memory - total: negative when it does not fit (0 when unlimited)
};

Footprint footprint(const SimPlan& plan, const SimRun& run);

// What a run's checkpoint policy recomputes: the last step's GEMM and convolution FLOPs in phase
// recompute over those of its forward and backward (a step of policy none does exactly those).
double recompute_fraction(const nn::EstimateResult& r);
// "checkpoint sqrt: 26 of 32 blocks recomputed in backward, in 5 segments; +27.1% GEMM and
// convolution FLOPs over none" and the like, with a line break.
std::string checkpoint_text(const nn::TrainOptions& train, const nn::EstimateResult& r);
nlohmann::json checkpoint_json(const nn::TrainOptions& train, const nn::EstimateResult& r);

// The world a simulated rank belongs to, for --json: world_size, rank, zero, bucket_mb.
nlohmann::json parallel_json(const ParallelArgs& parallel);

// ", as h100-80gb (NVIDIA H100 80GB HBM3, 79.65 GiB)" and the like; empty for unlimited sim:cpu.
std::string plan_text(const SimPlan& plan);
std::string footprint_text(const SimPlan& plan, const Footprint& f, const SimRun& run);
nlohmann::json footprint_json(const SimPlan& plan, const Footprint& f);

}  // namespace tally::cli
