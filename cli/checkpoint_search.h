// `tally fit --checkpoint auto`: the checkpoint policies it considers for a model's blocks, and
// the cheapest of them that fits, by simulation. Cost is the recomputation a policy adds to a
// step, in GEMM and convolution FLOPs measured on sim (cli/simulation.h: recompute_fraction).
#pragma once

#include <vector>

#include "cli/simulation.h"
#include "nn/checkpoint_policy.h"

namespace tally::cli {

// For n blocks: none; blocks:0 to blocks:0-(n-1), checkpointing the first m blocks one by one
// (the finest trade: each adds one block's recomputation); every:K for K from 2 to n - 1; and
// sqrt. Policies that cut the blocks into the same segments appear once (every:1 is
// blocks:0-(n-2)).
std::vector<nn::CheckpointPolicy> candidate_policies(std::int64_t blocks);

struct PolicyRun {
  nn::CheckpointPolicy policy;
  double recompute = 0.0;  // recompute_fraction
  Footprint footprint;
};

// The cheapest run that fits, fewer bytes first among equals; null when none does.
const PolicyRun* cheapest_fitting(const std::vector<PolicyRun>& runs);

}  // namespace tally::cli
