// `tally fit`: the largest batch whose training step fits a memory budget, found by simulating
// steps on sim: doubling the batch until a step runs out of memory, then bisecting. Each probe
// is a whole simulated step, so the answer carries the allocator's rounding, caching and
// workspaces, not a formula's. With --checkpoint auto a batch fits when any candidate policy's
// step fits, and the plan is the cheapest policy that fits the batch found or given.
#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <memory>

#include "allocator/error.h"
#include "allocator/units.h"
#include "cli/checkpoint_search.h"
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
  bool batch_given = false;  // --batch: with --checkpoint auto, the batch to plan for
  bool json = false;
};

struct Probe {
  std::int64_t batch = 0;
  bool fits = false;
  PolicyRun plan;  // the step that fit (or the leanest that did not): its policy and footprint
};

// Simulated steps, each policy at each batch at most once.
class Prober {
 public:
  Prober(const StepArgs& step, const SimPlan& plan, AllocatorConfig config)
      : step_(step), plan_(plan), config_(std::move(config)) {}

  PolicyRun run(const nn::CheckpointPolicy& policy, std::int64_t batch) {
    const auto key = std::make_pair(policy.name(), batch);
    if (auto it = runs_.find(key); it != runs_.end()) return it->second;
    nn::TrainOptions train = step_.train;
    train.batch = batch;
    train.checkpoint = policy;
    const SimRun sim = simulate(plan_, config_, train, step_.steps);
    ++count_;
    blocks_ = sim.result.blocks;
    return runs_[key] = {policy, recompute_fraction(sim.result), footprint(plan_, sim)};
  }
  std::size_t count() const { return count_; }
  std::int64_t blocks() const { return blocks_; }

 private:
  const StepArgs& step_;
  const SimPlan& plan_;
  AllocatorConfig config_;
  std::map<std::pair<std::string, std::int64_t>, PolicyRun> runs_;
  std::size_t count_ = 0;
  std::int64_t blocks_ = 0;
};

// Every candidate at `batch`, the leanest first (by its footprint at `batch`).
std::vector<PolicyRun> run_all(Prober& prober, const std::vector<nn::CheckpointPolicy>& policies,
                               std::int64_t batch) {
  std::vector<PolicyRun> runs;
  for (const auto& policy : policies) runs.push_back(prober.run(policy, batch));
  std::stable_sort(runs.begin(), runs.end(), [](const PolicyRun& a, const PolicyRun& b) {
    return a.footprint.total < b.footprint.total;
  });
  return runs;
}

std::string percent(double fraction) {
  char text[32];
  std::snprintf(text, sizeof text, "%+.1f%%", 100.0 * fraction);
  return text;
}

std::string policy_line(const PolicyRun& run) {
  char line[160];
  std::snprintf(line, sizeof line, "%-24s %8s FLOPs  %12s", run.policy.name().c_str(),
                percent(run.recompute).c_str(), format_bytes(run.footprint.total).c_str());
  return line;
}

int run_fit(FitArgs& args) {
  StepArgs& step = args.step;
  const Device device = step.resolve();
  if (args.sim.capacity != 0) {
    throw UsageError("fit: the device's memory is --budget, not --capacity");
  }
  if (args.batch_given && !step.checkpoint_auto) {
    throw UsageError("fit: it searches the batch itself; --batch goes with --checkpoint auto");
  }
  args.sim.capacity = args.budget;
  const SimPlan plan = resolve_step_plan(args.sim, step, device);
  AllocatorConfig config = alloc_conf_from(step.alloc_conf);
  config.record = true;
  Prober prober(step, plan, config);
  std::vector<nn::CheckpointPolicy> policies{step.train.checkpoint};
  if (step.checkpoint_auto) {
    prober.run({}, 1);
    policies = candidate_policies(prober.blocks());
  }
  // Whether any policy fits `batch`: the leanest at the last batch probed is tried first, and a
  // policy that did not fit a smaller batch is not tried (a larger batch never takes less).
  std::vector<nn::CheckpointPolicy> order = policies;
  std::map<std::string, std::int64_t> fails_from;
  const auto probe = [&](std::int64_t batch) {
    Probe p{batch, false, {}};
    std::vector<PolicyRun> runs;
    for (const auto& policy : order) {
      const auto failed = fails_from.find(policy.name());
      if (failed != fails_from.end() && failed->second <= batch) continue;
      runs.push_back(prober.run(policy, batch));
      if (runs.back().footprint.fits) {
        p.fits = true;
        p.plan = runs.back();
        break;
      }
      fails_from[policy.name()] = batch;
    }
    if (!p.fits && !runs.empty()) {
      std::stable_sort(runs.begin(), runs.end(), [](const PolicyRun& a, const PolicyRun& b) {
        return a.footprint.total < b.footprint.total;
      });
      p.plan = runs.front();
      std::vector<nn::CheckpointPolicy> leanest_first;
      for (const PolicyRun& r : runs) leanest_first.push_back(r.policy);
      for (const auto& policy : order) {
        if (std::find(leanest_first.begin(), leanest_first.end(), policy) == leanest_first.end()) {
          leanest_first.push_back(policy);
        }
      }
      order = std::move(leanest_first);
    }
    return p;
  };
  // The largest batch known to fit, and the smallest known not to (batch 0: none yet).
  Probe best, next;
  const auto record = [&](const Probe& p) { (p.fits ? best : next) = p; };
  if (args.batch_given) {
    record(probe(step.train.batch));
  } else {
    for (std::int64_t batch = 1; batch <= args.max_batch && next.batch == 0; batch *= 2) {
      record(probe(batch));
    }
    const auto upper = [&] { return next.batch > 0 ? next.batch : args.max_batch + 1; };
    while (upper() - best.batch > 1) record(probe(best.batch + (upper() - best.batch) / 2));
  }
  const std::int64_t fits = best.batch;
  // The plan: the cheapest policy at the batch, and every candidate's cost and size there.
  std::vector<PolicyRun> candidates;
  const PolicyRun* chosen = nullptr;
  if (step.checkpoint_auto) {
    candidates = run_all(prober, policies, fits > 0 ? fits : next.batch);
    chosen = cheapest_fitting(candidates);
    if (chosen) best.plan = *chosen;
    // What the next batch needs: its leanest candidate's footprint, all of them run.
    if (next.batch > 0) next.plan = run_all(prober, policies, next.batch).front();
  }

  if (args.json) {
    nlohmann::json j{{"model", step.train.model},         {"device", device.str()},
                     {"optimizer", step.train.optimizer}, {"budget_bytes", plan.memory},
                     {"max_batch", args.max_batch},       {"batch", fits},
                     {"probes", prober.count()}};
    if (fits > 0) j["footprint"] = footprint_json(plan, best.plan.footprint);
    j["checkpoint"] = chosen ? chosen->policy.name() : step.train.checkpoint.name();
    if (step.parallel.active()) {
      j["parallel"] = parallel_json(step.parallel);
    }
    if (step.checkpoint_auto) {
      nlohmann::json list = nlohmann::json::array();
      for (const PolicyRun& r : candidates) {
        list.push_back({{"policy", r.policy.name()},
                        {"recompute_fraction", r.recompute},
                        {"total_bytes", r.footprint.total},
                        {"fits", r.footprint.fits}});
      }
      j["candidates"] = list;
      if (chosen) j["recompute_fraction"] = chosen->recompute;
    }
    if (next.batch > 0) j["next_batch_footprint"] = footprint_json(plan, next.plan.footprint);
    std::cout << j.dump() << '\n';
    return fits > 0 ? 0 : 1;
  }
  std::cout << "tally fit: " << step.train.model << ", " << nn::precision_name(step.train.precision)
            << ", " << step.train.optimizer << ", on " << device.str() << plan_text(plan) << ", "
            << prober.count() << " simulated runs of " << step.steps << " step(s)\n";
  if (step.parallel.active()) {
    std::cout << "  " << parallel_text(step.parallel, *step.parallel.world_size, step.parallel.rank)
              << "; the batch is the rank's\n";
  }
  if (step.checkpoint_auto) {
    std::cout << "  checkpoint auto: " << policies.size() << " candidate policies over "
              << prober.blocks() << " blocks, cost in GEMM and convolution FLOPs added to a step\n";
  }
  if (fits == 0) {
    std::cout << "  no batch fits: batch " << next.batch << " needs "
              << format_bytes(next.plan.footprint.total) << '\n';
    return 1;
  }
  if (args.batch_given) {
    std::cout << "  batch " << fits << " fits\n";
  } else {
    std::cout << "  largest batch that fits: " << fits
              << (fits == args.max_batch ? " (the --max-batch searched)" : "") << '\n';
  }
  if (chosen) {
    std::cout << "  plan: checkpoint " << chosen->policy.name() << ", recomputation "
              << percent(chosen->recompute) << " GEMM and convolution FLOPs over none\n";
  }
  std::cout << "  it takes " << format_bytes(best.plan.footprint.total) << " ("
            << format_bytes(best.plan.footprint.reserved_peak) << " reserved by the allocator + "
            << format_bytes(best.plan.footprint.overhead) << " context and libraries), leaving "
            << format_bytes(best.plan.footprint.margin) << '\n';
  if (next.batch > 0) {
    std::cout << "  batch " << next.batch << " would need "
              << format_bytes(next.plan.footprint.total) << '\n';
  }
  if (chosen) {
    // The plan, and the cheaper candidates that do not fit: none and the few nearest the plan.
    std::vector<PolicyRun> cheaper;
    for (const PolicyRun& r : candidates) {
      if (r.recompute < chosen->recompute) cheaper.push_back(r);
    }
    std::stable_sort(cheaper.begin(), cheaper.end(), [](const PolicyRun& a, const PolicyRun& b) {
      return a.recompute < b.recompute;
    });
    std::cout << "  at batch " << fits << " (policy, recomputation, footprint):\n";
    constexpr std::size_t kNearest = 4;
    for (std::size_t i = 0; i < cheaper.size(); ++i) {
      if (i > 0 && i + kNearest < cheaper.size()) {
        if (i == 1) std::cout << "    ... " << cheaper.size() - 1 - kNearest << " more\n";
        continue;
      }
      std::cout << "    " << policy_line(cheaper[i]) << "  does not fit\n";
    }
    std::cout << "    " << policy_line(*chosen) << "  the plan\n";
  }
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
  add_step_options(*sub, args->step, /*checkpoint_auto=*/true);
  add_sim_options(*sub, args->sim);
  sub->add_flag("--json", args->json, "print one JSON object on stdout");
  return {sub, [args, sub] {
            args->batch_given = sub->count("--batch") > 0;
            return run_fit(*args);
          }};
}

}  // namespace tally::cli
