#include "allocator/replay_comparison.h"

#include <algorithm>
#include <map>

#include "allocator/error.h"
#include "allocator/offline_planner.h"
#include "allocator/replay.h"

namespace tally {
namespace {

// The pieces of `text` between `separator`s, trimmed, empty ones dropped.
std::vector<std::string_view> split(std::string_view text, char separator) {
  std::vector<std::string_view> pieces;
  while (!text.empty()) {
    const std::size_t at = text.find(separator);
    const std::string_view piece = trim(text.substr(0, at));
    if (!piece.empty()) pieces.push_back(piece);
    text = at == std::string_view::npos ? std::string_view{} : text.substr(at + 1);
  }
  return pieces;
}

ReplayConfig parse_one(std::string_view text, std::string_view origin) {
  const std::vector<std::string_view> items = split(text, ',');
  if (items.empty()) throw UsageError(std::string(origin) + ": an empty configuration");
  ReplayConfig c;
  for (const std::string_view item : items) {
    if (!c.label.empty()) c.label += ',';
    c.label += item;
  }
  const std::string where = std::string(origin) + " '" + c.label + "'";
  if (items.front() == kPlannerConfig) {
    if (items.size() > 1) throw UsageError(where + ": the planner takes no keys");
    c.planner = true;
    return c;
  }
  std::string conf;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const std::size_t colon = items[i].find(':');
    if (trim(items[i].substr(0, colon)) == "record") {
      throw UsageError(where + ": key 'record' has no meaning in a replay, which records nothing");
    }
    conf += i == 0 ? (colon == std::string_view::npos ? "strategy:" : "") : ",";
    conf += items[i];
  }
  apply_alloc_conf(c.config, conf, where);
  return c;
}

// The most bytes the plan's blocks hold at once: the planner's counterpart of peak allocated.
std::int64_t peak_planned(const OfflinePlan& plan) {
  std::map<std::uint64_t, std::int64_t> change;  // by event index
  for (const PlannedBlock& b : plan.blocks) {
    change[b.first] += b.size;
    change[b.last] -= b.size;
  }
  std::int64_t held = 0;
  std::int64_t peak = 0;
  for (const auto& [index, delta] : change) peak = std::max(peak, held += delta);
  return peak;
}

ComparisonRow replayed(const Trace& trace, const ReplayConfig& c, const SegmentCosts& costs) {
  ComparisonRow row;
  row.config = c.label;
  row.strategy = c.config.strategy;
  try {
    const ReplayResult r = replay(trace, c.config);
    row.peak_reserved = r.peak_reserved;
    row.peak_allocated = r.peak_allocated;
    row.segment_allocs = r.segment_allocs;
    row.segment_frees = r.segment_frees;
    row.timed = true;
    row.alloc_p50_ns = r.alloc_p50_ns;
    row.alloc_p99_ns = r.alloc_p99_ns;
    row.free_p50_ns = r.free_p50_ns;
    row.free_p99_ns = r.free_p99_ns;
  } catch (const OutOfMemoryError& e) {
    row.out_of_memory = e.what();
    return row;
  }
  row.device_cost_us = costs.estimate_us(row.strategy, row.segment_allocs, row.segment_frees);
  return row;
}

}  // namespace

std::vector<ReplayConfig> parse_replay_configs(std::string_view text, std::string_view origin) {
  std::vector<ReplayConfig> configs;
  for (const std::string_view piece : split(text, ';')) {
    ReplayConfig c = parse_one(piece, origin);
    for (const ReplayConfig& earlier : configs) {
      if (earlier.label == c.label) {
        throw UsageError(std::string(origin) + " '" + c.label + "': given twice");
      }
    }
    configs.push_back(std::move(c));
  }
  if (configs.empty()) throw UsageError(std::string(origin) + ": no configuration given");
  return configs;
}

std::vector<ReplayConfig> default_replay_configs() {
  std::string all;
  for (const std::string& name : strategy_names()) all += name + ";";
  return parse_replay_configs(all + std::string(kPlannerConfig), "default configurations");
}

Comparison compare_configs(const Trace& trace, const std::vector<ReplayConfig>& configs,
                           const SegmentCosts& costs) {
  const OfflinePlan plan = plan_offline(trace);
  Comparison out{trace.events.size(), plan.lower_bound, plan.arena_bytes, {}};
  for (const ReplayConfig& c : configs) {
    if (!c.planner) {
      out.rows.push_back(replayed(trace, c, costs));
      continue;
    }
    ComparisonRow row;
    row.config = c.label;
    row.strategy = kPlannerConfig;
    row.peak_reserved = plan.arena_bytes;
    row.peak_allocated = peak_planned(plan);
    row.segment_allocs = plan.arena_bytes > 0 ? 1 : 0;
    row.device_cost_us = costs.estimate_us(row.strategy, row.segment_allocs, 0);
    out.rows.push_back(std::move(row));
  }
  return out;
}

}  // namespace tally
