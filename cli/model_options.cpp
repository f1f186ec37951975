#include "cli/model_options.h"

#include <cstdint>

#include "cli/flag_validators.h"
#include "nn/models.h"

namespace tally::cli {

void add_model_options(CLI::App& sub, nn::TrainOptions& options) {
  sub.add_option("--model", options.model, "model from the zoo")
      ->check(CLI::IsMember(nn::model_names()))
      ->capture_default_str();
  sub.add_option("--batch", options.batch, "batch size")
      ->check(whole_in(1, 1 << 24))
      ->capture_default_str();
  sub.add_option("--optimizer", options.optimizer, "sgd or adamw")
      ->check(CLI::IsMember({"sgd", "adamw"}))
      ->capture_default_str();
  sub.add_option("--momentum", options.momentum,
                 "SGD momentum: 0 is plain SGD, without a momentum buffer; 1 is refused, as a "
                 "momentum that never decays")
      ->check(real_in(0, End::closed, 1, End::open))
      ->capture_default_str();
  sub.add_option("--seed", options.seed, "seed for initialisation and shuffling")
      ->check(whole_in(0, UINT64_MAX))
      ->capture_default_str();
}

}  // namespace tally::cli
