#include "cli/fit_table.h"

#include <cstdio>

#include "allocator/units.h"
#include "core/device_presets.h"

namespace tally::cli {
namespace {

// The reserved peak of `train` on the GPU of `plan`, without a limit.
std::int64_t reserved_peak(const SimPlan& plan, const AllocatorConfig& config,
                           nn::TrainOptions train, std::int64_t steps) {
  train.device = plan.device;
  AllocatorConfig quiet = config;
  quiet.record = false;
  quiet.limit.reset();
  const auto allocator = configure_sim(plan, quiet, /*unlimited=*/true);
  nn::simulate_training(train, steps);
  return allocator->stats().reserved_bytes.peak;
}

}  // namespace

std::vector<FitVariant> fit_variants(const SimArgs& sim, const StepArgs& step,
                                     const AllocatorConfig& config) {
  const bool checkpointed = step.train.checkpoint.kind != nn::CheckpointPolicy::Kind::none;
  const bool half = nn::keeps_master_weights(step.train.precision);
  std::vector<std::pair<std::string, nn::TrainOptions>> variants = {{"as asked", step.train}};
  nn::TrainOptions every = step.train;
  every.checkpoint = nn::parse_checkpoint_policy("every:1");
  if (!checkpointed) variants.emplace_back("--checkpoint every:1", every);
  if (!half) {
    nn::TrainOptions bf16 = step.train;
    bf16.precision = nn::Precision::bf16;
    variants.emplace_back("--precision bf16", bf16);
    if (!checkpointed) {
      every.precision = nn::Precision::bf16;
      variants.emplace_back("--precision bf16 --checkpoint every:1", every);
    }
  }
  const SimPlan asked = resolve_sim(sim, step.train.device);
  std::vector<FitVariant> out;
  for (const auto& [label, train] : variants) {
    FitVariant v{label, reserved_peak(asked, config, train, step.steps), {}};
    for (const DevicePreset& preset : device_presets()) {
      SimArgs as_preset = sim;
      as_preset.preset = std::string(preset.name);
      as_preset.capacity = 0;
      const SimPlan plan = resolve_sim(as_preset, step.train.device);
      const std::int64_t peak = plan.preset == asked.preset
                                    ? v.reserved_peak
                                    : reserved_peak(plan, config, train, step.steps);
      if (static_cast<std::size_t>(peak) + plan.overhead <= plan.memory) {
        v.fits_on.emplace_back(preset.name);
      }
    }
    out.push_back(std::move(v));
  }
  return out;
}

std::string fit_variants_text(const std::vector<FitVariant>& variants) {
  std::string out =
      "where it fits (the reserved peak plus each preset's context and libraries, against its "
      "memory)\n";
  for (const FitVariant& v : variants) {
    std::string presets;
    for (const std::string& name : v.fits_on) presets += (presets.empty() ? "" : ", ") + name;
    char line[512];
    std::snprintf(line, sizeof line, "  %-38s %11s  %s\n", v.label.c_str(),
                  format_bytes(static_cast<std::size_t>(v.reserved_peak)).c_str(),
                  presets.empty() ? "no preset" : presets.c_str());
    out += line;
  }
  return out;
}

nlohmann::json fit_variants_json(const std::vector<FitVariant>& variants) {
  nlohmann::json out = nlohmann::json::array();
  for (const FitVariant& v : variants) {
    out.push_back(
        {{"variant", v.label}, {"reserved_peak_bytes", v.reserved_peak}, {"fits_on", v.fits_on}});
  }
  return out;
}

}  // namespace tally::cli
