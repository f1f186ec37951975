#include "cli/simulation.h"

#include <cstdio>

#include "allocator/error.h"
#include "allocator/units.h"
#include "cli/flag_validators.h"
#include "cli/model_options.h"
#include "ops/sim_libraries.h"

namespace tally::cli {
namespace {

std::string bytes(std::int64_t n) {
  return format_bytes(static_cast<std::size_t>(n < 0 ? -n : n));
}

std::string row(const std::string& label, const std::string& value, const std::string& note = "") {
  char line[256];
  std::snprintf(line, sizeof line, "  %-28s %14s  %s\n", label.c_str(), value.c_str(),
                note.c_str());
  return line;
}

}  // namespace

Device StepArgs::resolve() {
  // Learning rates change no byte; these are tally train's defaults.
  train.lr = nn::default_lr(train.optimizer);
  train.weight_decay = nn::default_weight_decay(train.optimizer);
  train.device = Device::sim(target == "cpu" ? SimTarget::cpu : SimTarget::cuda);
  train = nn::resolve_model(std::move(train));
  if (parallel.active()) {
    const int world = *parallel.world_size;
    if (parallel.rank >= world) {
      throw UsageError("--rank " + std::to_string(parallel.rank) + " is not a rank of a world of " +
                       std::to_string(world));
    }
    auto group = std::make_shared<dist::LocalProcessGroup>(train.device, parallel.rank, world);
    train.data_parallel = dist::data_parallel(std::move(group), parallel.ddp_options(), train);
  }
  return train.device;
}

void add_step_options(CLI::App& sub, StepArgs& args, bool checkpoint_auto) {
  add_model_options(sub, args.train, checkpoint_auto ? &args.checkpoint_auto : nullptr);
  sub.add_option("--target", args.target, "the device sim mimics: cuda or cpu")
      ->check(CLI::IsMember({"cuda", "cpu"}))
      ->capture_default_str();
  sub.add_option("--steps", args.steps, "training steps to simulate")
      ->check(whole_in(1, 1000))
      ->capture_default_str();
  sub.add_option("--alloc-conf", args.alloc_conf,
                 "allocator configuration, e.g. strategy:caching,max_split_size_mb:64");
  add_world_options(sub, args.parallel);
}

SimPlan resolve_step_plan(const SimArgs& sim, const StepArgs& step, Device device) {
  SimPlan plan = resolve_sim(sim, device);
  if (step.parallel.nccl_bytes == 0) return plan;
  if (device.sim_target() != SimTarget::cuda) {
    throw UsageError("--nccl-bytes is NCCL's memory on a GPU: it needs --target cuda");
  }
  plan.overhead += step.parallel.nccl_bytes;
  plan.overhead_source += " + NCCL's " + format_bytes(step.parallel.nccl_bytes) + " (--nccl-bytes)";
  return plan;
}

SimRun simulate(const SimPlan& plan, const AllocatorConfig& config, nn::TrainOptions train,
                std::int64_t steps) {
  train.device = plan.device;
  SimRun run;
  auto allocator = configure_sim(plan, config);
  try {
    run.result = nn::simulate_training(train, steps);
  } catch (const OutOfMemoryError& e) {
    run.oom = e.what();
    AllocatorConfig without_limit = config;  // --alloc-conf's limit: too
    without_limit.limit.reset();
    allocator = configure_sim(plan, without_limit, /*unlimited=*/true);
    run.result = nn::simulate_training(train, steps);
  }
  run.trace = allocator->trace();
  run.stats = allocator->stats();
  return run;
}

nlohmann::json parallel_json(const ParallelArgs& parallel) {
  return {{"world_size", parallel.world_size.value_or(1)},
          {"rank", parallel.rank},
          {"zero", parallel.zero},
          {"bucket_mb", parallel.bucket_mb}};
}

Footprint footprint(const SimPlan& plan, const SimRun& run) {
  Footprint f;
  f.reserved_peak = run.stats.reserved_bytes.peak;
  f.overhead = static_cast<std::int64_t>(plan.overhead);
  f.total = f.reserved_peak + f.overhead;
  f.fits = run.oom.empty();
  if (plan.limited()) f.margin = static_cast<std::int64_t>(plan.memory) - f.total;
  return f;
}

double recompute_fraction(const nn::EstimateResult& r) {
  const auto at = [&r](Phase phase) {
    return static_cast<double>(r.flops[static_cast<std::size_t>(phase)]);
  };
  const double step = at(Phase::forward) + at(Phase::backward);
  return step > 0 ? at(Phase::recompute) / step : 0.0;
}

std::string checkpoint_text(const nn::TrainOptions& train, const nn::EstimateResult& r) {
  std::int64_t checkpointed = 0;
  for (const nn::BlockSegment& s : r.segments) checkpointed += s.checkpointed;
  char line[256];
  std::snprintf(line, sizeof line,
                "checkpoint %s: %lld of %lld blocks recomputed in backward, in %lld segment(s); "
                "%+.1f%% GEMM and convolution FLOPs over none\n",
                train.checkpoint.name().c_str(),
                static_cast<long long>(nn::recomputed_blocks(r.segments)),
                static_cast<long long>(r.blocks), static_cast<long long>(checkpointed),
                100.0 * recompute_fraction(r));
  return line;
}

nlohmann::json checkpoint_json(const nn::TrainOptions& train, const nn::EstimateResult& r) {
  nlohmann::json flops;
  for (const Phase phase : {Phase::forward, Phase::backward, Phase::recompute}) {
    flops[std::string(phase_name(phase))] = r.flops[static_cast<std::size_t>(phase)];
  }
  return {{"policy", train.checkpoint.name()},
          {"blocks", r.blocks},
          {"recomputed_blocks", nn::recomputed_blocks(r.segments)},
          {"step_flops", flops},
          {"recompute_fraction", recompute_fraction(r)}};
}

std::string plan_text(const SimPlan& plan) {
  if (plan.preset) {
    return " as " + std::string(plan.preset->name) + " (" + std::string(plan.preset->description) +
           ", " + format_bytes(plan.memory) + ")";
  }
  return plan.limited() ? " with " + format_bytes(plan.memory) : "";
}

std::string footprint_text(const SimPlan& plan, const Footprint& f, const SimRun& run) {
  std::string out = "device total" + plan_text(plan) + "\n";
  out += row("allocator reserved peak", bytes(f.reserved_peak));
  if (plan.preset) {
    out += row("context and libraries", bytes(f.overhead), plan.overhead_source);
    out += row("total", bytes(f.total));
    out += "  cuDNN workspaces: " + ops::describe_sim_conv_workspace() + "\n";
  }
  if (f.fits) {
    if (plan.limited()) out += "  fits, with " + bytes(f.margin) + " to spare\n";
    return out;
  }
  if (f.margin < 0) {
    out += "  does NOT fit: it needs " + bytes(-f.margin) + " more than the device has\n";
  } else {
    out += "  does NOT fit under the allocator's limit (--alloc-conf limit:)\n";
  }
  out += "  on the device: " + run.oom + "\n";
  return out;
}

nlohmann::json footprint_json(const SimPlan& plan, const Footprint& f) {
  nlohmann::json j{{"reserved_peak_bytes", f.reserved_peak},
                   {"overhead_bytes", f.overhead},
                   {"total_bytes", f.total},
                   {"fits", f.fits}};
  if (plan.limited()) {
    j["device_memory_bytes"] = plan.memory;
    j["margin_bytes"] = f.margin;
  }
  if (plan.preset) {
    j["preset"] = plan.preset->name;
    j["overhead_source"] = plan.overhead_source;
    j["conv_workspace"] = ops::describe_sim_conv_workspace();
  }
  return j;
}

}  // namespace tally::cli
