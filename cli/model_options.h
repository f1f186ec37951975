// The flags that say which training step runs, shared by train, estimate and fit so that one
// command line means the same step to each of them.
#pragma once

#include <CLI/CLI.hpp>

#include "nn/trainer.h"

namespace tally::cli {

// --model or --model-config, --seq-len, --batch, --optimizer, --momentum, --seed, --precision and
// --checkpoint, writing into `options`. With `checkpoint_auto`, --checkpoint also takes "auto" and
// says so there.
void add_model_options(CLI::App& sub, nn::TrainOptions& options, bool* checkpoint_auto = nullptr);

}  // namespace tally::cli
