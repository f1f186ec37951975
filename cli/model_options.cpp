#include "cli/model_options.h"

#include <cstdint>
#include <map>
#include <string>

#include "allocator/error.h"
#include "cli/flag_validators.h"
#include "nn/models.h"
#include "nn/transformer_config.h"

namespace tally::cli {

void add_model_options(CLI::App& sub, nn::TrainOptions& options, bool* checkpoint_auto) {
  CLI::Option* model = sub.add_option("--model", options.model, "model from the zoo")
                           ->check(CLI::IsMember(nn::model_names()))
                           ->capture_default_str();
  sub.add_option_function<std::string>(
         "--model-config",
         [&options](const std::string& path) {
           try {
             options.transformer = nn::read_transformer_config(path);
           } catch (const UsageError& e) {
             throw CLI::ValidationError("--model-config", e.what());
           }
           options.model = path;
         },
         "a Hugging Face config.json (model_type gpt2 or llama) to build the model from, without "
         "weights (docs/transformer-memory.md)")
      ->type_name("FILE")
      ->excludes(model);
  sub.add_option("--seq-len", options.seq_len,
                 "tokens per sequence for a transformer (default: its context; for train, at "
                 "most 256)")
      ->check(whole_in(1, 1 << 24));
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
  std::map<std::string, nn::Precision> precisions;
  for (const std::string& name : nn::precision_names()) {
    precisions.emplace(name, nn::parse_precision(name));
  }
  sub.add_option("--precision", options.precision,
                 "fp32; amp-fp16 or amp-bf16: autocast, f32 parameters and 16-bit matmuls and "
                 "convolutions; fp16 or bf16: 16-bit parameters and gradients, f32 master weights "
                 "in the optimizer (docs/precision.md)")
      ->transform(CLI::CheckedTransformer(precisions))
      ->default_str("fp32");
  sub.add_option_function<std::string>(
         "--checkpoint",
         [&options, checkpoint_auto](const std::string& text) {
           if (checkpoint_auto) *checkpoint_auto = text == "auto";
           if (!checkpoint_auto || text != "auto") {
             options.checkpoint = nn::parse_checkpoint_policy(text);
           }
         },
         std::string(checkpoint_auto ? "auto: the policy with the least recomputation that fits; "
                                     : "") +
             "gradient checkpointing over the model's blocks: none, every:K (segments of K "
             "blocks, all but the last recomputed in backward), sqrt, or blocks:LIST such as "
             "blocks:0,2,5-7 (docs/checkpointing.md)")
      ->check(CLI::Validator(
          [checkpoint_auto](std::string& text) -> std::string {
            if (checkpoint_auto && text == "auto") return "";
            try {
              nn::parse_checkpoint_policy(text);
              return "";
            } catch (const UsageError& e) {
              return e.what();
            }
          },
          "POLICY"))
      ->type_name("POLICY")
      ->default_str("none");
}

}  // namespace tally::cli
