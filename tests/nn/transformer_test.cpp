// The zoo's transformers: parameter counts of the published sizes and of config files, config
// errors, causal masking, scopes, and a tiny GPT learning a text.
#include <gtest/gtest.h>

#include <filesystem>
#include <set>
#include <string>

#include "allocator/error.h"
#include "autograd/grad_mode.h"
#include "core/device_registry.h"
#include "core/generator.h"
#include "nn/data/tokens.h"
#include "nn/estimate.h"
#include "nn/models.h"
#include "nn/trainer.h"
#include "nn/transformer.h"
#include "nn/transformer_config.h"
#include "ops/factory.h"

namespace tally::nn {
namespace {

namespace fs = std::filesystem;

fs::path config_path(const std::string& name) {
  return fs::path(TALLY_TEST_DATA_DIR) / "configs" / (name + ".json");
}

// Built on sim, which holds no data: an 8-billion-parameter model costs nothing but bookkeeping.
std::int64_t built_parameters(const TransformerConfig& config) {
  return make_transformer(config, Device::parse("sim:cpu"))->parameter_count();
}

TEST(Transformer, ZooSizesHaveThePublishedParameterCounts) {
  const std::pair<const char*, std::int64_t> sizes[] = {{"gpt2-124m", 124'439'808},
                                                        {"gpt2-355m", 354'823'168},
                                                        {"gpt2-774m", 774'030'080},
                                                        {"gpt2-1.5b", 1'557'611'200}};
  for (const auto& [name, count] : sizes) {
    const TransformerConfig config = *zoo_transformer(name);
    EXPECT_EQ(transformer_parameters(config), count) << name;
    EXPECT_EQ(built_parameters(config), count) << name;
  }
  // By hand: 256 x 64 embedding and 64 x 64 positions, then per block two LayerNorms (256),
  // c_attn 64 x 192 + 192, c_proj 64 x 64 + 64, c_fc 64 x 256 + 256, c_proj 256 x 64 + 64, and
  // ln_f (128); the head is tied.
  EXPECT_EQ(built_parameters(*zoo_transformer("gpt-tiny")),
            256 * 64 + 64 * 64 + 2 * (256 + 12480 + 4160 + 16640 + 16448) + 128);
  // 256 x 64 embedding, per block two RMSNorms (128), q and o 64 x 64, k and v 64 x 32, gate, up
  // and down 64 x 176; the final norm (64) and an untied 256 x 64 head.
  EXPECT_EQ(built_parameters(*zoo_transformer("llama-tiny")),
            256 * 64 + 2 * (128 + 2 * 4096 + 2 * 2048 + 3 * 11264) + 64 + 256 * 64);
}

TEST(Transformer, ConfigFilesGiveTheirModelsParameterCounts) {
  const TransformerConfig llama = read_transformer_config(config_path("llama-3-8b"));
  EXPECT_EQ(llama.family, TransformerFamily::llama);
  EXPECT_EQ(llama.kv_heads, 8);
  EXPECT_EQ(llama.head_dim, 128);
  EXPECT_FALSE(llama.tied_embeddings);
  EXPECT_EQ(transformer_parameters(llama), 8'030'261'248);
  EXPECT_EQ(built_parameters(llama), 8'030'261'248);
  const TransformerConfig gpt2 = read_transformer_config(config_path("gpt2"));
  EXPECT_EQ(gpt2.family, TransformerFamily::gpt2);
  EXPECT_FLOAT_EQ(gpt2.attention_dropout, 0.1f);
  EXPECT_EQ(built_parameters(gpt2), 124'439'808);
}

void expect_config_error(const std::string& json, const std::string& fragment) {
  try {
    parse_transformer_config(json, "config.json");
    ADD_FAILURE() << "no error for " << json;
  } catch (const UsageError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("config.json: "), std::string::npos) << message;
    EXPECT_NE(message.find(fragment), std::string::npos) << message;
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
  }
}

TEST(Transformer, MalformedOrUnsupportedConfigsAreOneLineErrors) {
  expect_config_error("{\"model_type\": \"gpt2\",", "not valid JSON");
  expect_config_error("[1, 2]", "not a JSON object");
  expect_config_error("{\"vocab_size\": 5}", "missing field 'model_type'");
  expect_config_error("{\"model_type\": \"bert\"}", "model_type 'bert' is not supported");
  expect_config_error(
      R"({"model_type": "gpt2", "vocab_size": 10, "n_positions": 8, "n_embd": 12, "n_layer": 1})",
      "missing field 'n_head'");
  expect_config_error(R"({"model_type": "gpt2", "vocab_size": 10, "n_positions": 8, "n_embd": 12,
                          "n_layer": 1, "n_head": 5})",
                      "n_embd 12 is not a multiple of n_head 5");
  expect_config_error(R"({"model_type": "gpt2", "vocab_size": "10", "n_positions": 8})",
                      "field 'vocab_size' is not a positive integer");
  expect_config_error(R"({"model_type": "gpt2", "vocab_size": 10, "n_positions": 8, "n_embd": 12,
                          "n_layer": 1, "n_head": 3, "attn_pdrop": 1.5})",
                      "field 'attn_pdrop' is not in [0, 1)");
  expect_config_error(R"({"model_type": "llama", "vocab_size": 10, "hidden_size": 12,
                          "intermediate_size": 8, "num_hidden_layers": 1,
                          "num_attention_heads": 4, "num_key_value_heads": 3,
                          "max_position_embeddings": 8})",
                      "num_attention_heads 4 is not a multiple of num_key_value_heads 3");
  expect_config_error(R"({"model_type": "llama", "vocab_size": 10, "hidden_size": 12,
                          "intermediate_size": 8, "num_hidden_layers": 1,
                          "num_attention_heads": 4, "max_position_embeddings": 8})",
                      "rotary embeddings need an even head_dim, got 3");
  try {
    read_transformer_config(config_path("no-such-config"));
    ADD_FAILURE() << "no error for a missing file";
  } catch (const UsageError& e) {
    EXPECT_NE(std::string(e.what()).find("no-such-config.json: cannot read"), std::string::npos);
  }
  for (const char* name : {"unsupported-type", "missing-field", "bad-heads", "malformed"}) {
    EXPECT_THROW(read_transformer_config(config_path(name)), UsageError) << name;
  }
}

// Logits of tokens [1, T] through `model`, without gradients, one row per position.
std::vector<std::vector<float>> logits_by_position(Module& model,
                                                   const std::vector<std::int64_t>& tokens) {
  NoGradGuard no_grad;
  const auto t = static_cast<std::int64_t>(tokens.size());
  Tensor input = Tensor::empty({1, t}, DType::i64, Device::cpu());
  std::copy(tokens.begin(), tokens.end(), input.data<std::int64_t>());
  const std::vector<float> flat = model.call(input, "").to_floats();
  const std::size_t vocab = flat.size() / tokens.size();
  std::vector<std::vector<float>> rows;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    rows.emplace_back(flat.begin() + i * vocab, flat.begin() + (i + 1) * vocab);
  }
  return rows;
}

TEST(Transformer, ChangingALaterTokenLeavesEarlierOutputsUnchanged) {
  for (const char* name : {"gpt-tiny", "llama-tiny"}) {
    manual_seed(3);
    const auto model = make_model(name);
    std::vector<std::int64_t> tokens = {5, 17, 200, 3, 99, 42, 7, 7, 130, 255, 0, 61};
    const auto before = logits_by_position(*model, tokens);
    tokens[8] = 11;
    const auto after = logits_by_position(*model, tokens);
    for (std::size_t i = 0; i < 8; ++i) EXPECT_EQ(after[i], before[i]) << name << " position " << i;
    for (std::size_t i = 8; i < tokens.size(); ++i) {
      EXPECT_NE(after[i], before[i]) << name << " position " << i;
    }
  }
}

TEST(Transformer, SequencesLongerThanTheContextAreRefused) {
  const auto model = make_model("gpt-tiny");
  const Tensor tokens = ops::zeros({1, 65}, DType::i64);
  EXPECT_THROW(model->call(tokens, ""), UsageError);
  TrainOptions options;
  options.model = "gpt-tiny";
  options.seq_len = 65;
  EXPECT_THROW(resolve_model(options), UsageError);
  options.seq_len = 0;
  EXPECT_EQ(resolve_model(options).seq_len, 64);
  options.model = "mlp";
  options.seq_len = 8;
  EXPECT_THROW(resolve_model(options), UsageError);
}

TEST(Transformer, EveryBlockPartHasItsOwnScope) {
  const Device sim = Device::parse("sim:cpu");
  AllocatorConfig config;
  config.record = true;
  const auto allocator = configure_device(sim, config);
  TrainOptions options;
  options.model = "llama-tiny";
  options.device = sim;
  options.batch = 2;
  simulate_training(options);
  std::set<std::string> scopes;
  for (const Event& e : allocator->trace().events) scopes.insert(scope_name(e.scope));
  for (const char* scope :
       {"embed_tokens", "blocks.1.attn", "blocks.1.attn.q_proj", "blocks.1.mlp.down_proj",
        "blocks.0.input_layernorm", "norm", "lm_head", "loss"}) {
    EXPECT_TRUE(scopes.count(scope)) << scope;
  }
  configure_device(sim, {});
}

// Byte-level text: the loss starts near log(256) = 5.55 and a tiny GPT learns the frequent
// bytes and pairs within a few dozen steps.
TEST(Transformer, GptTinyLowersItsLossOnAText) {
  const fs::path text = fs::path(TALLY_TEST_DATA_DIR) / ".." / ".." / "docs" / "allocator.md";
  TrainOptions options;
  options.model = "gpt-tiny";
  options.optimizer = "adamw";
  options.lr = 3e-3f;
  options.weight_decay = default_weight_decay("adamw");
  options.batch = 16;
  options.steps = 80;
  options.seq_len = 64;
  const data::Dataset train_set = data::text_tokens(text, data::Split::train, 64);
  const data::Dataset test_set = data::text_tokens(text, data::Split::test, 64);
  float first = 0;
  const TrainSummary summary = train(options, train_set, test_set, [&](const Progress& p) {
    if (p.step == 1) first = p.loss;
  });
  EXPECT_NEAR(first, 5.55f, 0.1f);
  EXPECT_LT(summary.final_loss, first - 1.5f) << "first " << first;
  EXPECT_GT(summary.test_accuracy, 0.15);
}

}  // namespace
}  // namespace tally::nn
