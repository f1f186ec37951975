#include "allocator/caching_strategy.h"
#include "allocator/direct_strategy.h"
#include "allocator/expandable_strategy.h"
#include "allocator/error.h"

namespace tally {

std::vector<std::string> strategy_names() {
  return {"caching", "direct", "expandable"};
}

std::unique_ptr<Strategy> make_strategy(std::string_view name, SegmentSource& source,
                                        const StrategyOptions& options) {
  if (name == "caching") return std::make_unique<CachingStrategy>(source, options);
  if (name == "direct") return std::make_unique<DirectStrategy>(source);
  if (name == "expandable") return std::make_unique<ExpandableStrategy>(source, options);
  std::string known;
  for (const auto& n : strategy_names()) known += (known.empty() ? "" : ", ") + n;
  throw UsageError("unknown strategy '" + std::string(name) + "' (known: " + known + ")");
}

}  // namespace tally
