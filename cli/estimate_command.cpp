// `tally estimate`: training steps on sim:<target>, in milliseconds and without a GPU: the peak
// and what it is made of, the model states against the textbook, and whether the run fits the
// device once its context and libraries are added.
#include <cstdio>
#include <iostream>
#include <memory>

#include "allocator/error.h"
#include "allocator/peak_analysis.h"
#include "allocator/trace_csv.h"
#include "allocator/units.h"
#include "cli/commands.h"
#include "cli/fit_table.h"
#include "cli/memory_report.h"
#include "cli/report_html.h"
#include "cli/simulation.h"
#include "nn/estimate.h"

namespace tally::cli {
namespace {

struct EstimateArgs {
  StepArgs step;
  SimArgs sim;
  std::string trace;
  std::string report;
  bool json = false;
};

std::string model_states_text(const nn::EstimateResult& r, const StepArgs& step) {
  std::string out;
  char line[256];
  std::snprintf(line, sizeof line, "model states after step %lld: %lld parameters, %s, %s\n",
                static_cast<long long>(r.steps), static_cast<long long>(r.parameters),
                std::string(nn::precision_name(step.train.precision)).c_str(),
                step.train.optimizer.c_str());
  out += line;
  std::snprintf(line, sizeof line, "  %-10s %7s %15s %15s %15s\n", "", "B/param", "textbook B",
                "requested B", "allocated B");
  out += line;
  for (const nn::ModelStateCheck& m : r.model_states) {
    const std::string name = std::string(tag_name(m.tag)) + (m.measured != m.tag ? "*" : "");
    std::snprintf(line, sizeof line, "  %-10s %7lld %15lld %15lld %15lld  ", name.c_str(),
                  static_cast<long long>(m.bytes_per_parameter), static_cast<long long>(m.textbook),
                  static_cast<long long>(m.requested), static_cast<long long>(m.allocated));
    out += line;
    out += m.requested == m.textbook ? "requested = textbook"
                                     : "requested differs from the textbook by " +
                                           std::to_string(m.requested - m.textbook) + " B";
    if (m.allocated != m.requested) {
      out += "; +" + std::to_string(m.allocated - m.requested) + " B: " + std::to_string(m.blocks) +
             " blocks rounded up by the allocator";
    }
    out += '\n';
  }
  out += "  " + std::string(nn::precision_name(step.train.precision)) + ": " +
         std::string(nn::bytes_per_parameter_note(step.train.precision)) + "\n";
  if (step.parallel.active()) {
    out += "  * gradient: DDP keeps the gradients in its buckets, tagged communication\n";
    if (step.parallel.zero == 1) {
      out += "  optimizer: ZeRO-1 holds this rank's shard alone, textbook / world size\n";
    }
  }
  return out;
}

nlohmann::json model_states_json(const nn::EstimateResult& r) {
  nlohmann::json states = nlohmann::json::array();
  for (const nn::ModelStateCheck& m : r.model_states) {
    states.push_back({{"tag", tag_name(m.tag)},
                      {"measured_tag", tag_name(m.measured)},
                      {"bytes_per_parameter", m.bytes_per_parameter},
                      {"textbook_bytes", m.textbook},
                      {"requested_bytes", m.requested},
                      {"allocated_bytes", m.allocated},
                      {"blocks", m.blocks}});
  }
  return states;
}

int run_estimate(EstimateArgs& args) {
  StepArgs& step = args.step;
  const Device device = step.resolve();
  const SimPlan plan = resolve_step_plan(args.sim, step, device);
  AllocatorConfig config = alloc_conf_from(step.alloc_conf);
  config.record = true;
  const SimRun run = simulate(plan, config, step.train, step.steps);
  const PeakSnapshot peak = find_peak(run.trace);
  const Footprint need = footprint(plan, run);
  if (!args.trace.empty()) write_trace_csv(run.trace, args.trace);
  if (!args.report.empty()) write_html_report(run.trace, args.report);
  // On a GPU target, the cheaper arrangements against every preset; not for a DDP rank, whose
  // world the variants would have to rebuild.
  std::vector<FitVariant> variants;
  if (plan.preset && !step.parallel.active()) {
    variants = fit_variants(args.sim, step, config);
  }

  if (args.json) {
    nlohmann::json j = memory_report_json(peak);
    j["model"] = step.train.model;
    j["batch"] = step.train.batch;
    j["device"] = device.str();
    j["optimizer"] = step.train.optimizer;
    j["precision"] = nn::precision_name(step.train.precision);
    j["checkpoint"] = checkpoint_json(step.train, run.result);
    if (step.parallel.active()) {
      const BlockStats& buckets = run.stats.of(Tag::communication);
      j["parallel"] = parallel_json(step.parallel);
      j["parallel"]["buckets"] = buckets.allocation.peak;
      j["parallel"]["bucket_bytes"] = buckets.requested_bytes.peak;
    }
    j["parameters"] = run.result.parameters;
    j["steps"] = run.result.steps;
    j["simulated_seconds"] = run.result.seconds;
    j["model_states"] = model_states_json(run.result);
    j["fits"] = need.fits;
    j["footprint"] = footprint_json(plan, need);
    if (!run.oom.empty()) j["out_of_memory"] = run.oom;
    if (!variants.empty()) j["where_it_fits"] = fit_variants_json(variants);
    if (step.train.transformer) j["seq_len"] = step.train.seq_len;
    std::cout << j.dump() << '\n';
    return 0;
  }
  const std::string seq =
      step.train.transformer ? ", seq " + std::to_string(step.train.seq_len) : "";
  std::cout << "tally estimate: " << step.train.model << ", batch " << step.train.batch << seq
            << ", " << nn::precision_name(step.train.precision) << ", " << step.train.optimizer
            << ", checkpoint " << step.train.checkpoint.name() << ", " << run.result.steps
            << " step(s) on " << device.str() << plan_text(plan) << ", simulated in "
            << static_cast<long long>(run.result.seconds * 1000.0 + 0.5) << " ms\n\n";
  std::cout << format_memory_report(peak) << '\n';
  std::cout << model_states_text(run.result, step) << '\n';
  std::cout << checkpoint_text(step.train, run.result) << '\n';
  if (step.parallel.active()) {
    const BlockStats& buckets = run.stats.of(Tag::communication);
    std::cout << parallel_text(step.parallel, *step.parallel.world_size, step.parallel.rank) << ": "
              << buckets.allocation.peak << " gradient bucket(s), "
              << format_bytes(static_cast<std::size_t>(buckets.requested_bytes.peak))
              << " tagged communication; MPI's and NCCL's own buffers are outside the "
                 "allocator"
              << (step.parallel.nccl_bytes > 0 ? ", NCCL's in the device total below"
                                               : " (--nccl-bytes adds NCCL's to the device total)")
              << "\n\n";
  }
  std::cout << footprint_text(plan, need, run);
  if (!variants.empty()) std::cout << '\n' << fit_variants_text(variants);
  if (!args.trace.empty()) std::cout << "trace written to " << args.trace << '\n';
  if (!args.report.empty()) std::cout << "report written to " << args.report << '\n';
  return 0;
}

}  // namespace

Command add_estimate_command(CLI::App& app) {
  auto args = std::make_shared<EstimateArgs>();
  CLI::App* sub = app.add_subcommand(
      "estimate", "Predict a training step's memory on sim, without running it on a device");
  add_step_options(*sub, args->step);
  add_sim_options(*sub, args->sim);
  sub->add_option("--trace", args->trace, "write the simulated step's trace (CSV) to this file");
  sub->add_option("--report", args->report, "write the HTML memory report to this file");
  sub->add_flag("--json", args->json, "print one JSON object on stdout instead of the report");
  return {sub, [args] { return run_estimate(*args); }};
}

}  // namespace tally::cli
