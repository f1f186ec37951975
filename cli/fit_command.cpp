// `tally fit`: the largest batch whose training step fits a memory budget, found by simulating
// steps on sim: doubling the batch until a step runs out of memory, then bisecting. Each probe
// is a whole simulated step, so the answer carries the allocator's rounding, caching and
// workspaces, not a formula's.
#include <iostream>
#include <memory>

#include "allocator/error.h"
#include "allocator/units.h"
#include "cli/commands.h"
#include "cli/flag_validators.h"
#include "cli/simulation.h"

namespace tally::cli {
namespace {

struct FitArgs {
  StepArgs step;
  SimArgs sim;
  std::size_t budget = 0;
  std::int64_t max_batch = 1 << 16;
  bool json = false;
};

struct Probe {
  std::int64_t batch = 0;
  bool fits = false;
  Footprint footprint;
};

int run_fit(FitArgs& args) {
  StepArgs& step = args.step;
  const Device device = step.resolve();
  if (args.sim.capacity != 0) {
    throw UsageError("fit: the device's memory is --budget, not --capacity");
  }
  args.sim.capacity = args.budget;
  const SimPlan plan = resolve_sim(args.sim, device);
  AllocatorConfig config = alloc_conf_from(step.alloc_conf);
  config.record = true;
  std::size_t probes = 0;
  const auto probe = [&](std::int64_t batch) {
    nn::TrainOptions train = step.train;
    train.batch = batch;
    const SimRun run = simulate(plan, config, train, step.steps);
    ++probes;
    return Probe{batch, run.oom.empty(), footprint(plan, run)};
  };
  // The largest batch known to fit, and the smallest known not to (batch 0: none yet).
  Probe best, next;
  const auto record = [&](const Probe& p) { (p.fits ? best : next) = p; };
  for (std::int64_t batch = 1; batch <= args.max_batch && next.batch == 0; batch *= 2) {
    record(probe(batch));
  }
  const auto upper = [&] { return next.batch > 0 ? next.batch : args.max_batch + 1; };
  while (upper() - best.batch > 1) record(probe(best.batch + (upper() - best.batch) / 2));
  const std::int64_t fits = best.batch;

  if (args.json) {
    nlohmann::json j{{"model", step.train.model},
                     {"device", device.str()},
                     {"optimizer", step.train.optimizer},
                     {"budget_bytes", plan.memory},
                     {"max_batch", args.max_batch},
                     {"batch", fits},
                     {"probes", probes}};
    if (fits > 0) j["footprint"] = footprint_json(plan, best.footprint);
    if (next.batch > 0) j["next_batch_footprint"] = footprint_json(plan, next.footprint);
    std::cout << j.dump() << '\n';
    return fits > 0 ? 0 : 1;
  }
  std::cout << "tally fit: " << step.train.model << ", " << nn::precision_name(step.train.precision)
            << ", " << step.train.optimizer << ", on " << device.str() << plan_text(plan) << ", "
            << probes << " simulated runs of " << step.steps << " step(s)\n";
  if (fits == 0) {
    std::cout << "  no batch fits: batch 1 needs " << format_bytes(next.footprint.total) << '\n';
    return 1;
  }
  std::cout << "  largest batch that fits: " << fits
            << (fits == args.max_batch ? " (the --max-batch searched)" : "") << '\n';
  std::cout << "  it takes " << format_bytes(best.footprint.total) << " ("
            << format_bytes(best.footprint.reserved_peak) << " reserved by the allocator + "
            << format_bytes(best.footprint.overhead) << " context and libraries), leaving "
            << format_bytes(best.footprint.margin) << '\n';
  if (next.batch > 0) {
    std::cout << "  batch " << next.batch << " would need " << format_bytes(next.footprint.total)
              << '\n';
  }
  std::cout << "  checkpoint policies: none (the search over them arrives with checkpointing)\n";
  return 0;
}

}  // namespace

Command add_fit_command(CLI::App& app) {
  auto args = std::make_shared<FitArgs>();
  CLI::App* sub = app.add_subcommand(
      "fit", "Find the largest batch whose training step fits a memory budget, on sim");
  sub->add_option("--budget", args->budget, "the device's memory, e.g. 16GiB")
      ->transform(byte_size())
      ->type_name("SIZE")
      ->required();
  sub->add_option("--max-batch", args->max_batch, "the largest batch to consider")
      ->check(whole_in(1, 1 << 24))
      ->capture_default_str();
  add_step_options(*sub, args->step);
  add_sim_options(*sub, args->sim);
  sub->add_flag("--json", args->json, "print one JSON object on stdout");
  return {sub, [args] { return run_fit(*args); }};
}

}  // namespace tally::cli
