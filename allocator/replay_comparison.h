// Allocator configurations side by side on one trace, each beside the two references no
// configuration can beat: the trace's lower bound (the most requested bytes live at once) and
// the arena of the offline planner, which knows every lifetime in advance.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "allocator/config.h"
#include "allocator/event.h"
#include "allocator/segment_cost.h"

namespace tally {

inline constexpr std::string_view kPlannerConfig = "planner";

struct ReplayConfig {
  std::string label;  // the configuration as given, items trimmed and joined by ','
  bool planner = false;
  AllocatorConfig config;  // unused for the planner
};

// Parses "caching; caching,max_split_size_mb:64; planner": configurations separated by ';',
// each as apply_alloc_conf takes it, except that a first item without a colon is a strategy
// name ("caching,limit:8GiB" is "strategy:caching,limit:8GiB") and "planner" alone is the
// offline planner. Key `record` is refused: a replay records nothing. Throws UsageError naming
// the configuration (after `origin`, e.g. "--configs") for a bad one, an empty list or a
// configuration given twice.
std::vector<ReplayConfig> parse_replay_configs(std::string_view text, std::string_view origin);

// Every strategy with its defaults, then the planner.
std::vector<ReplayConfig> default_replay_configs();

struct ComparisonRow {
  std::string config;
  std::string strategy;  // "planner" for the planner
  // The OutOfMemoryError's message when the configuration's limit refused an allocation; the
  // figures below are then unset.
  std::optional<std::string> out_of_memory;
  std::int64_t peak_reserved = 0;  // the planner's arena
  std::int64_t peak_allocated = 0;
  std::int64_t segment_allocs = 0;  // the planner obtains its arena once and returns nothing
  std::int64_t segment_frees = 0;
  bool timed = false;  // the planner makes no allocate or free calls to time
  double alloc_p50_ns = 0;
  double alloc_p99_ns = 0;
  double free_p50_ns = 0;
  double free_p99_ns = 0;
  double device_cost_us = 0;  // segment calls at the SegmentCosts of this strategy
};

struct Comparison {
  std::size_t events = 0;           // every event of the trace, replayed or not
  std::int64_t lower_bound = 0;     // the most requested bytes live at once
  std::int64_t planner_bytes = 0;   // the offline planner's arena
  std::vector<ComparisonRow> rows;  // in the order of the configurations

  static double ratio(std::int64_t bytes, std::int64_t reference) {
    return reference > 0 ? static_cast<double>(bytes) / static_cast<double>(reference) : 0.0;
  }
};

// Replays `trace` under each configuration and plans it offline (always, as the reference).
// A trace that frees or retags a block it never allocated throws DataError naming the event.
Comparison compare_configs(const Trace& trace, const std::vector<ReplayConfig>& configs,
                           const SegmentCosts& costs = {});

}  // namespace tally
