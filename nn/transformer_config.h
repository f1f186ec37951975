// The shape of a decoder-only transformer, as a Hugging Face config.json gives it: GPT-2 or a
// Llama-family model. Only what decides the parameters and the memory of a step is read; no
// weights are ever loaded.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tally::nn {

enum class TransformerFamily { gpt2, llama };

struct TransformerConfig {
  std::string name;  // the zoo name, or the config file's path
  TransformerFamily family = TransformerFamily::gpt2;
  std::int64_t vocab = 0;
  std::int64_t context = 0;  // n_positions / max_position_embeddings
  std::int64_t width = 0;    // n_embd / hidden_size
  std::int64_t layers = 0;
  std::int64_t heads = 0;
  std::int64_t kv_heads = 0;  // num_key_value_heads; heads for GPT-2
  std::int64_t head_dim = 0;  // width / heads unless the config says otherwise
  std::int64_t intermediate =
      0;                        // the MLP's hidden width: n_inner (4 x width) or intermediate_size
  double norm_eps = 1e-5;       // layer_norm_epsilon / rms_norm_eps
  double rope_theta = 10000.0;  // Llama only
  bool tied_embeddings = true;  // the LM head is the token embedding's transpose
  bool attention_bias = true;   // GPT-2 true; Llama's attention_bias (default false)
  bool mlp_bias = true;         // GPT-2 true; Llama's mlp_bias (default false)
  float embedding_dropout = 0.0f;  // GPT-2's embd_pdrop
  float attention_dropout = 0.0f;  // attn_pdrop / attention_dropout
  float residual_dropout = 0.0f;   // GPT-2's resid_pdrop
};

// Parses a config.json's text. model_type "gpt2" reads vocab_size, n_positions (or n_ctx),
// n_embd, n_layer, n_head and optionally n_inner, layer_norm_epsilon, the three *_pdrop and
// tie_word_embeddings; "llama" reads vocab_size, hidden_size, intermediate_size,
// num_hidden_layers, num_attention_heads, max_position_embeddings and optionally
// num_key_value_heads, head_dim, rms_norm_eps, rope_theta, tie_word_embeddings, attention_bias,
// mlp_bias and attention_dropout. Other fields are ignored (rope_scaling changes frequencies,
// not memory). Malformed JSON, another model_type, a missing or mistyped field, or sizes that do
// not fit together (heads not dividing the width, kv heads not dividing heads) throw a one-line
// UsageError naming `source` and the field.
TransformerConfig parse_transformer_config(std::string_view json, const std::string& source);
// The same from a file; a file that cannot be read is a UsageError naming it.
TransformerConfig read_transformer_config(const std::filesystem::path& path);

// The zoo's transformers: gpt2-124m, gpt2-355m, gpt2-774m, gpt2-1.5b (the released GPT-2 sizes,
// dropout 0.1 as published), gpt-tiny and llama-tiny (two layers of width 64, vocab 256,
// context 64, no dropout: for tests and byte-level text).
std::optional<TransformerConfig> zoo_transformer(std::string_view name);
std::vector<std::string> zoo_transformer_names();

// The parameter count the config implies, without building the model.
std::int64_t transformer_parameters(const TransformerConfig& config);

}  // namespace tally::nn
