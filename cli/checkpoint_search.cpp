#include "cli/checkpoint_search.h"

#include <algorithm>

namespace tally::cli {

std::vector<nn::CheckpointPolicy> candidate_policies(std::int64_t blocks) {
  using Kind = nn::CheckpointPolicy::Kind;
  std::vector<nn::CheckpointPolicy> out{{}};
  std::vector<std::vector<nn::BlockSegment>> seen{nn::plan_segments(out[0], blocks)};
  const auto add = [&](nn::CheckpointPolicy policy) {
    std::vector<nn::BlockSegment> segments = nn::plan_segments(policy, blocks);
    if (std::find(seen.begin(), seen.end(), segments) != seen.end()) return;
    seen.push_back(std::move(segments));
    out.push_back(std::move(policy));
  };
  nn::CheckpointPolicy first{Kind::blocks, 0, {}};
  for (std::int64_t m = 0; m < blocks; ++m) {
    first.blocks.push_back(m);
    add(first);
  }
  for (std::int64_t k = 2; k < blocks; ++k) add({Kind::every, k, {}});
  add({Kind::sqrt, 0, {}});
  return out;
}

const PolicyRun* cheapest_fitting(const std::vector<PolicyRun>& runs) {
  const PolicyRun* best = nullptr;
  for (const PolicyRun& run : runs) {
    if (!run.footprint.fits) continue;
    if (!best || run.recompute < best->recompute ||
        (run.recompute == best->recompute && run.footprint.total < best->footprint.total)) {
      best = &run;
    }
  }
  return best;
}

}  // namespace tally::cli
