#include "allocator/arena_strategy.h"
#include "allocator/binning_strategy.h"
#include "allocator/buddy_strategy.h"
#include "allocator/caching_strategy.h"
#include "allocator/direct_strategy.h"
#include "allocator/error.h"
#include "allocator/expandable_strategy.h"

namespace tally {

std::vector<std::string> strategy_names() {
  return {"caching", "expandable", "direct", "buddy", "binning", "arena"};
}

std::unique_ptr<Strategy> make_strategy(std::string_view name, SegmentSource& source,
                                        const StrategyOptions& options) {
  if (name == "caching") return std::make_unique<CachingStrategy>(source, options);
  if (name == "direct") return std::make_unique<DirectStrategy>(source);
  if (name == "expandable") return std::make_unique<ExpandableStrategy>(source, options);
  if (name == "buddy") return std::make_unique<BuddyStrategy>(source);
  if (name == "binning") return std::make_unique<BinningStrategy>(source, options);
  if (name == "arena") return std::make_unique<ArenaStrategy>(source);
  std::string known;
  for (const auto& n : strategy_names()) known += (known.empty() ? "" : ", ") + n;
  throw UsageError("unknown strategy '" + std::string(name) + "' (known: " + known + ")");
}

}  // namespace tally
