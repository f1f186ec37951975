#include "allocator/replay_comparison.h"

#include <gtest/gtest.h>

#include "allocator/error.h"
#include "allocator/units.h"
#include "tests/allocator/figures.h"

namespace tally {
namespace {

constexpr auto i64(std::size_t n) {
  return static_cast<std::int64_t>(n);
}

using test::block_event;
using test::numbered;

// a (4 MiB, caching's large pool) and b (256 KiB, its small pool) live together: 4.25 MiB at
// most. The planner packs b above a: a 4.25 MiB arena. Caching takes a 20 MiB segment for a
// and a 2 MiB one for b and returns neither; direct takes and returns one segment per block.
Trace large_and_small() {
  return numbered({block_event(Action::alloc, 1, 4 * MiB), block_event(Action::alloc, 2, 256 * KiB),
                   block_event(Action::free, 1, 0), block_event(Action::free, 2, 0)});
}

const ComparisonRow& row(const Comparison& c, const std::string& config) {
  for (const ComparisonRow& r : c.rows) {
    if (r.config == config) return r;
  }
  throw std::runtime_error("no row " + config);
}

TEST(ReplayComparison, HandComputedRowsAgainstBoundAndPlanner) {
  const Comparison c = compare_configs(
      large_and_small(), parse_replay_configs("caching; direct; planner", "--configs"));
  EXPECT_EQ(c.events, 4u);
  EXPECT_EQ(c.lower_bound, i64(4 * MiB + 256 * KiB));
  EXPECT_EQ(c.planner_bytes, i64(4 * MiB + 256 * KiB));
  ASSERT_EQ(c.rows.size(), 3u);

  const ComparisonRow& caching = row(c, "caching");
  EXPECT_EQ(caching.peak_reserved, i64(22 * MiB));
  EXPECT_EQ(caching.peak_allocated, i64(4 * MiB + 256 * KiB));
  EXPECT_EQ(caching.segment_allocs, 2);
  EXPECT_EQ(caching.segment_frees, 0);
  EXPECT_DOUBLE_EQ(Comparison::ratio(caching.peak_reserved, c.planner_bytes), 22.0 / 4.25);
  EXPECT_TRUE(caching.timed);
  EXPECT_DOUBLE_EQ(caching.device_cost_us, 2 * 50.0);

  const ComparisonRow& direct = row(c, "direct");
  EXPECT_EQ(direct.peak_reserved, i64(4 * MiB + 256 * KiB));
  EXPECT_EQ(direct.segment_allocs, 2);
  EXPECT_EQ(direct.segment_frees, 2);
  EXPECT_DOUBLE_EQ(direct.device_cost_us, 2 * 50.0 + 2 * 14.0);

  const ComparisonRow& planner = row(c, "planner");
  EXPECT_EQ(planner.strategy, "planner");
  EXPECT_EQ(planner.peak_reserved, i64(4 * MiB + 256 * KiB));
  EXPECT_EQ(planner.peak_allocated, i64(4 * MiB + 256 * KiB));
  EXPECT_EQ(planner.segment_allocs, 1);
  EXPECT_EQ(planner.segment_frees, 0);
  EXPECT_FALSE(planner.timed);
  EXPECT_DOUBLE_EQ(planner.device_cost_us, 50.0);
}

// The planner rounds to 256 bytes: a and b (100 B each) live together, then c (300 B, rounded to
// 512) with b, 400 B asked at most. c goes first, at 0; a fits there too, its lifetime over
// before c's begins; b goes above c, at 512: a 768-byte arena, all of it held at once.
TEST(ReplayComparison, PlannerFiguresAreRoundedBytes) {
  const Trace t = numbered({block_event(Action::alloc, 1, 100), block_event(Action::alloc, 2, 100),
                            block_event(Action::free, 1, 0), block_event(Action::alloc, 3, 300)});
  const Comparison c = compare_configs(t, parse_replay_configs("planner", "--configs"));
  EXPECT_EQ(c.lower_bound, 400);
  EXPECT_EQ(c.planner_bytes, 768);
  EXPECT_EQ(c.rows.at(0).peak_reserved, 768);
  EXPECT_EQ(c.rows.at(0).peak_allocated, 768);
}

// Greedy by size leaves a hole: p and q (3 MiB) at 0 and 3 MiB; once p is freed r (2 MiB) takes
// 0-2 MiB, and s (2 MiB), alongside q and r, no longer fits the 1 MiB left below q: it goes to
// 6 MiB. An 8 MiB arena for at most 7 MiB held at once.
TEST(ReplayComparison, PlannerArenaAboveWhatItHoldsAtOnce) {
  const Trace t =
      numbered({block_event(Action::alloc, 1, 3 * MiB), block_event(Action::alloc, 2, 3 * MiB),
                block_event(Action::free, 1, 0), block_event(Action::alloc, 3, 2 * MiB),
                block_event(Action::alloc, 4, 2 * MiB), block_event(Action::free, 4, 0),
                block_event(Action::free, 2, 0), block_event(Action::free, 3, 0)});
  const Comparison c = compare_configs(t, parse_replay_configs("planner", "--configs"));
  EXPECT_EQ(c.lower_bound, i64(7 * MiB));
  EXPECT_EQ(c.planner_bytes, i64(8 * MiB));
  EXPECT_EQ(c.rows.at(0).peak_reserved, i64(8 * MiB));
  EXPECT_EQ(c.rows.at(0).peak_allocated, i64(7 * MiB));
}

TEST(ReplayComparison, LimitIsKeptAndAnOutOfMemoryIsARowNotAFailure) {
  const Comparison c = compare_configs(
      large_and_small(), parse_replay_configs("caching,limit:5MiB; direct,limit:5MiB", "x"));
  // The 20 MiB segment for a does not fit 5 MiB; direct's 4 MiB and 256 KiB do.
  ASSERT_TRUE(c.rows.at(0).out_of_memory.has_value());
  EXPECT_NE(c.rows.at(0).out_of_memory->find("out of memory"), std::string::npos)
      << *c.rows.at(0).out_of_memory;
  EXPECT_FALSE(c.rows.at(1).out_of_memory.has_value());
  EXPECT_EQ(c.rows.at(1).peak_reserved, i64(4 * MiB + 256 * KiB));
}

TEST(ReplayComparison, SegmentCostsAreKeyedByStrategy) {
  const SegmentCosts costs;
  EXPECT_DOUBLE_EQ(costs.estimate_us("caching", 3, 2), 3 * 50.0 + 2 * 14.0);
  EXPECT_DOUBLE_EQ(costs.estimate_us("planner", 1, 0), 50.0);
  // expandable's segments are 2 MiB pages mapped through the CUDA virtual memory API.
  EXPECT_DOUBLE_EQ(costs.estimate_us("expandable", 3, 2), 3 * 230.8 + 2 * 25.6);
  SegmentCosts given;
  given.runtime = {1.0, 2.0, "given"};
  const Comparison c =
      compare_configs(large_and_small(), parse_replay_configs("direct", "x"), given);
  EXPECT_DOUBLE_EQ(c.rows.at(0).device_cost_us, 2 * 1.0 + 2 * 2.0);
}

TEST(ReplayConfigs, SpacingBareNamesKeysAndPlanner) {
  const auto configs = parse_replay_configs(
      "  caching ;caching , max_split_size_mb:64;strategy:direct, limit:1GiB ; planner;", "x");
  ASSERT_EQ(configs.size(), 4u);
  EXPECT_EQ(configs[0].label, "caching");
  EXPECT_EQ(configs[0].config.strategy, "caching");
  EXPECT_EQ(configs[0].config.strategy_options.max_split_size, SIZE_MAX);
  EXPECT_EQ(configs[1].label, "caching,max_split_size_mb:64");
  EXPECT_EQ(configs[1].config.strategy_options.max_split_size, 64 * MiB);
  EXPECT_EQ(configs[2].label, "strategy:direct,limit:1GiB");
  EXPECT_EQ(configs[2].config.strategy, "direct");
  EXPECT_EQ(configs[2].config.limit, std::optional<std::size_t>(GiB));
  EXPECT_FALSE(configs[2].planner);
  EXPECT_TRUE(configs[3].planner);
  EXPECT_EQ(configs[3].label, "planner");
  // Keys alone keep the default strategy, as --alloc-conf does.
  EXPECT_EQ(parse_replay_configs("max_split_size_mb:64", "x").at(0).config.strategy, "caching");
}

TEST(ReplayConfigs, DefaultsAreEveryStrategyThenThePlanner) {
  const auto configs = default_replay_configs();
  const auto names = strategy_names();
  ASSERT_EQ(configs.size(), names.size() + 1);
  for (std::size_t i = 0; i < names.size(); ++i) EXPECT_EQ(configs[i].config.strategy, names[i]);
  EXPECT_TRUE(configs.back().planner);
}

// The message begins with `message` (the list of known strategies grows).
void expect_usage_error(const std::string& text, const std::string& message) {
  try {
    parse_replay_configs(text, "--configs");
    FAIL() << "no error for " << text;
  } catch (const UsageError& e) {
    EXPECT_TRUE(std::string(e.what()).starts_with(message)) << e.what();
  }
}

TEST(ReplayConfigs, BadConfigurationsAreNamed) {
  expect_usage_error("caching; bogus",
                     "--configs 'bogus': bad value 'bogus' for key 'strategy' (known strategies: "
                     "caching, ");
  expect_usage_error(
      "caching,max_split_size_mb:8",
      "--configs 'caching,max_split_size_mb:8': bad value '8' for key 'max_split_size_mb' "
      "(expected a whole number of MiB above 20)");
  expect_usage_error("caching,limit",
                     "--configs 'caching,limit': key 'limit' has no value "
                     "(expected key:value)");
  expect_usage_error("caching,record:on",
                     "--configs 'caching,record:on': key 'record' has no "
                     "meaning in a replay, which records nothing");
  expect_usage_error("planner,limit:1GiB",
                     "--configs 'planner,limit:1GiB': the planner takes "
                     "no keys");
  expect_usage_error("caching; caching ", "--configs 'caching': given twice");
  expect_usage_error(" ; ", "--configs: no configuration given");
  expect_usage_error("caching; , ", "--configs: an empty configuration");
}

}  // namespace
}  // namespace tally
