// `tally replay TRACE... --configs "caching; caching,max_split_size_mb:64; planner"`: each
// trace's block events under each allocator configuration over a virtual backing, one table per
// trace, beside the trace's lower bound and the offline planner's arena.
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <memory>

#include "allocator/error.h"
#include "allocator/replay_comparison.h"
#include "allocator/rmm_log.h"
#include "allocator/strategy.h"
#include "allocator/units.h"
#include "cli/commands.h"
#include "cli/flag_validators.h"

namespace tally::cli {
namespace {

// Errors name the configuration after the flag, which CLI11 puts first.
constexpr std::string_view kOrigin = "configuration";

struct ReplayArgs {
  std::vector<std::string> traces;
  std::string configs;
  std::vector<std::string> strategies;
  std::vector<double> segment_cost;
  std::vector<double> page_cost;
  bool json = false;
};

std::vector<ReplayConfig> configs_of(const ReplayArgs& args) {
  if (!args.configs.empty()) return parse_replay_configs(args.configs, kOrigin);
  if (args.strategies.empty()) return default_replay_configs();
  std::string list;
  for (const std::string& s : args.strategies) list += s + ";";
  return parse_replay_configs(list, kOrigin);
}

SegmentCosts costs_of(const ReplayArgs& args) {
  SegmentCosts costs;
  if (!args.segment_cost.empty()) {
    costs.runtime = {args.segment_cost[0], args.segment_cost[1], "given with --segment-cost"};
  }
  if (!args.page_cost.empty()) {
    costs.vmm_page = {args.page_cost[0], args.page_cost[1], "given with --page-cost"};
  }
  return costs;
}

std::string bytes(std::int64_t n) {
  return format_bytes(static_cast<std::size_t>(n));
}

void print_table(const std::string& path, const Comparison& c, const SegmentCosts& costs) {
  std::cout << "replay of " << path << " (" << c.events << " events): lower bound "
            << bytes(c.lower_bound) << ", planner arena " << bytes(c.planner_bytes) << '\n';
  int width = 13;
  for (const ComparisonRow& r : c.rows) width = std::max(width, static_cast<int>(r.config.size()));
  std::printf("%-*s %10s %10s %9s %9s %13s %8s %8s %8s %8s %12s\n", width, "configuration", "peak",
              "peak", "reserved/", "reserved/", "segment calls", "alloc ns", "alloc ns", "free ns",
              "free ns", "device cost");
  std::printf("%-*s %10s %10s %9s %9s %13s %8s %8s %8s %8s %12s\n", width, "", "reserved",
              "allocated", "bound", "planner", "allocs+frees", "p50", "p99", "p50", "p99",
              "ms, est.");
  for (const ComparisonRow& r : c.rows) {
    if (r.out_of_memory) {
      std::printf("%-*s %s\n", width, r.config.c_str(), r.out_of_memory->c_str());
      continue;
    }
    const std::string calls =
        std::to_string(r.segment_allocs) + "+" + std::to_string(r.segment_frees);
    std::printf("%-*s %10s %10s %8.3fx %8.3fx %13s ", width, r.config.c_str(),
                bytes(r.peak_reserved).c_str(), bytes(r.peak_allocated).c_str(),
                Comparison::ratio(r.peak_reserved, c.lower_bound),
                Comparison::ratio(r.peak_reserved, c.planner_bytes), calls.c_str());
    if (r.timed) {
      std::printf("%8.0f %8.0f %8.0f %8.0f", r.alloc_p50_ns, r.alloc_p99_ns, r.free_p50_ns,
                  r.free_p99_ns);
    } else {
      std::printf("%8s %8s %8s %8s", "-", "-", "-", "-");
    }
    std::printf(" %12.3f\n", r.device_cost_us / 1000);
  }
  std::cout << "reserved = allocated + cached free bytes held after every event, for every "
               "replayed configuration\n"
               "alloc, free ns: host time of the replayed allocate and deallocate calls (the "
               "allocator's bookkeeping: the backing is virtual)\n"
               "planner: one arena packed knowing every lifetime, obtained once\n";
  std::printf(
      "device cost, assumed, not measured here: cudaMalloc %.1f us, cudaFree %.1f us per "
      "segment (%s)\n",
      costs.runtime.alloc_us, costs.runtime.free_us, costs.runtime.source.c_str());
  std::printf("  expandable: map %.1f us, unmap %.1f us per 2 MiB page (%s)\n",
              costs.vmm_page.alloc_us, costs.vmm_page.free_us, costs.vmm_page.source.c_str());
}

nlohmann::json comparison_json(const std::string& path, const Comparison& c,
                               const SegmentCosts& costs) {
  nlohmann::json rows = nlohmann::json::array();
  for (const ComparisonRow& r : c.rows) {
    nlohmann::json row{{"config", r.config}, {"strategy", r.strategy}};
    if (r.out_of_memory) {
      row["out_of_memory"] = *r.out_of_memory;
      rows.push_back(row);
      continue;
    }
    const CallCost& cost = costs.of(r.strategy);
    row.update({{"peak_reserved_bytes", r.peak_reserved},
                {"peak_allocated_bytes", r.peak_allocated},
                {"reserved_over_bound", Comparison::ratio(r.peak_reserved, c.lower_bound)},
                {"reserved_over_planner", Comparison::ratio(r.peak_reserved, c.planner_bytes)},
                {"segment_allocs", r.segment_allocs},
                {"segment_frees", r.segment_frees},
                {"segment_alloc_cost_us", cost.alloc_us},
                {"segment_free_cost_us", cost.free_us},
                {"segment_cost_source", cost.source},
                {"device_cost_us", r.device_cost_us}});
    if (r.timed) {
      row.update({{"alloc_p50_ns", r.alloc_p50_ns},
                  {"alloc_p99_ns", r.alloc_p99_ns},
                  {"free_p50_ns", r.free_p50_ns},
                  {"free_p99_ns", r.free_p99_ns}});
    }
    rows.push_back(row);
  }
  return {{"trace", path},
          {"events", c.events},
          {"lower_bound_bytes", c.lower_bound},
          {"planner_bytes", c.planner_bytes},
          {"rows", rows}};
}

int run_replay(const ReplayArgs& args) {
  const std::vector<ReplayConfig> configs = configs_of(args);
  const SegmentCosts costs = costs_of(args);
  nlohmann::json all = nlohmann::json::array();
  for (std::size_t i = 0; i < args.traces.size(); ++i) {
    const Comparison c = compare_configs(read_any_trace(args.traces[i]), configs, costs);
    if (args.json) {
      all.push_back(comparison_json(args.traces[i], c, costs));
    } else {
      if (i > 0) std::cout << '\n';
      print_table(args.traces[i], c, costs);
    }
  }
  if (args.json) std::cout << all.dump(2) << '\n';
  return 0;
}

// Parses the list while the command line is read, so that a bad configuration is a usage error
// before any trace is opened.
CLI::Validator replay_configs() {
  return CLI::Validator(
      [](std::string& text) -> std::string {
        try {
          parse_replay_configs(text, kOrigin);
        } catch (const UsageError& e) {
          return e.what();
        }
        return {};
      },
      "CONFIGS");
}

void add_cost_option(CLI::App* sub, const std::string& name, std::vector<double>& costs,
                     const std::string& what) {
  sub->add_option(name, costs, what + ", in microseconds (default: published measurements)")
      ->delimiter(',')
      ->expected(2)
      ->check(real_in(0, End::closed, 1e9, End::closed));
}

}  // namespace

Command add_replay_command(CLI::App& app) {
  auto args = std::make_shared<ReplayArgs>();
  CLI::App* sub = app.add_subcommand(
      "replay", "Replay traces' allocations against allocator configurations and compare them");
  const CLI::Option* traces =
      sub->add_option("trace", args->traces,
                      "traces written by tally train --trace, or RMM logging_resource_adaptor CSVs")
          ->required();
  CLI::Option* configs =
      sub->add_option("--configs", args->configs,
                      "configurations separated by ';', each as --alloc-conf takes it, a "
                      "first item without a colon being the strategy, or 'planner' "
                      "(default: every strategy, then planner)")
          ->check(replay_configs());
  sub->add_option("--strategies", args->strategies,
                  "comma-separated strategies, each with its defaults (shorthand for --configs)")
      ->delimiter(',')
      ->check(CLI::IsMember(strategy_names()))
      ->excludes(configs);
  add_cost_option(sub, "--segment-cost", args->segment_cost,
                  "ALLOC,FREE: the cost of one cudaMalloc and one cudaFree of a segment");
  add_cost_option(sub, "--page-cost", args->page_cost,
                  "MAP,UNMAP: the cost of mapping and unmapping one 2 MiB page (expandable)");
  sub->add_flag("--json", args->json, "print the figures as a JSON array, one object per trace");
  return {sub, [args] { return run_replay(*args); }, {traces}};
}

}  // namespace tally::cli
