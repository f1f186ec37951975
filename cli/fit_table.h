// "Where it fits": the step as asked and its cheaper variants (every block checkpointed, 16-bit
// parameters, both) against every GPU preset: a preset fits a variant when the variant's reserved
// peak on that GPU (simulated without a limit: library workspaces differ between GPUs) plus the
// preset's context and libraries is within the preset's memory. The question a user brings ("does
// it fit on my 24 GB card, and if not, what would make it?") answered in one table.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "cli/simulation.h"

namespace tally::cli {

struct FitVariant {
  std::string label;                 // "as asked", "--checkpoint every:1", ...
  std::int64_t reserved_peak = 0;    // on the GPU the command line names
  std::vector<std::string> fits_on;  // preset names, smallest memory first
};

// The step as asked (resolved, on a sim:cuda device), then those of the variants that differ
// from it, simulated with `config` (its limit aside).
std::vector<FitVariant> fit_variants(const SimArgs& sim, const StepArgs& step,
                                     const AllocatorConfig& config);

std::string fit_variants_text(const std::vector<FitVariant>& variants);
nlohmann::json fit_variants_json(const std::vector<FitVariant>& variants);

}  // namespace tally::cli
