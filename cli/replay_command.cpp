// `tally replay TRACE --strategies a,b`: the trace's block events against each strategy over a
// virtual backing, one row per strategy, beside the trace's lower bound.
#include <cstdio>
#include <iostream>
#include <memory>

#include "allocator/replay.h"
#include "allocator/rmm_log.h"
#include "allocator/strategy.h"
#include "allocator/units.h"
#include "cli/commands.h"

namespace tally::cli {
namespace {

struct ReplayArgs {
  std::string trace;
  std::vector<std::string> strategies{"caching", "direct"};
};

std::string bytes(std::int64_t n) {
  return format_bytes(static_cast<std::size_t>(n));
}

int run_replay(const ReplayArgs& args) {
  const Trace trace = read_any_trace(args.trace);
  std::cout << "replay of " << args.trace << " (" << trace.events.size() << " events)\n";
  std::printf("%-10s %14s %14s %14s %9s %9s %10s %10s\n", "strategy", "peak reserved",
              "peak allocated", "lower bound", "reserved/", "segment", "alloc p50", "alloc p99");
  std::printf("%-10s %14s %14s %14s %9s %9s %10s %10s\n", "", "", "", "", "bound", "calls", "ns",
              "ns");
  for (const std::string& strategy : args.strategies) {
    const ReplayResult r = replay(trace, strategy);
    std::printf("%-10s %14s %14s %14s %8.3fx %9lld %10.0f %10.0f\n", strategy.c_str(),
                bytes(r.peak_reserved).c_str(), bytes(r.peak_allocated).c_str(),
                bytes(r.lower_bound).c_str(), r.reserved_over_bound(),
                static_cast<long long>(r.segment_calls), r.alloc_p50_ns, r.alloc_p99_ns);
  }
  std::cout << "reserved = allocated + cached free bytes held after every event, for every "
               "strategy\n";
  return 0;
}

}  // namespace

Command add_replay_command(CLI::App& app) {
  auto args = std::make_shared<ReplayArgs>();
  CLI::App* sub = app.add_subcommand(
      "replay", "Replay a trace's allocations against allocator strategies and compare them");
  const CLI::Option* trace =
      sub->add_option(
             "trace", args->trace,
             "trace written by tally train --trace, or an RMM logging_resource_adaptor CSV")
          ->required();
  sub->add_option("--strategies", args->strategies, "comma-separated strategies")
      ->delimiter(',')
      ->check(CLI::IsMember(strategy_names()))
      ->capture_default_str();
  return {sub, [args] { return run_replay(*args); }, {trace}};
}

}  // namespace tally::cli
