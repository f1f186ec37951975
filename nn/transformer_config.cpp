#include "nn/transformer_config.h"

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "allocator/error.h"

namespace tally::nn {
namespace {

using Json = nlohmann::json;

// Reads the fields of one config object, each error naming the file and the field.
class Fields {
 public:
  Fields(const Json& json, const std::string& source) : json_(json), source_(source) {}

  [[noreturn]] void fail(const std::string& what) const { throw UsageError(source_ + ": " + what); }

  std::int64_t size(const char* key) const {
    const Json* v = find(key);
    if (!v) fail("missing field '" + std::string(key) + "'");
    return positive(key, *v);
  }
  std::int64_t size_or(const char* key, std::int64_t fallback) const {
    const Json* v = find(key);
    return v && !v->is_null() ? positive(key, *v) : fallback;
  }
  double real_or(const char* key, double fallback) const {
    const Json* v = find(key);
    if (!v || v->is_null()) return fallback;
    if (!v->is_number()) fail("field '" + std::string(key) + "' is not a number");
    return v->get<double>();
  }
  float probability_or(const char* key) const {
    const double p = real_or(key, 0.0);
    if (!(p >= 0.0 && p < 1.0)) fail("field '" + std::string(key) + "' is not in [0, 1)");
    return static_cast<float>(p);
  }
  bool flag_or(const char* key, bool fallback) const {
    const Json* v = find(key);
    if (!v || v->is_null()) return fallback;
    if (!v->is_boolean()) fail("field '" + std::string(key) + "' is not true or false");
    return v->get<bool>();
  }
  bool has(const char* key) const { return find(key) != nullptr; }

 private:
  const Json* find(const char* key) const {
    const auto it = json_.find(key);
    return it == json_.end() ? nullptr : &*it;
  }
  std::int64_t positive(const char* key, const Json& v) const {
    if (!v.is_number_integer() || v.get<std::int64_t>() < 1) {
      fail("field '" + std::string(key) + "' is not a positive integer");
    }
    return v.get<std::int64_t>();
  }

  const Json& json_;
  const std::string& source_;
};

TransformerConfig gpt2_config(const Fields& f) {
  TransformerConfig c;
  c.family = TransformerFamily::gpt2;
  c.vocab = f.size("vocab_size");
  c.context = f.has("n_positions") ? f.size("n_positions") : f.size("n_ctx");
  c.width = f.size("n_embd");
  c.layers = f.size("n_layer");
  c.heads = f.size("n_head");
  c.kv_heads = c.heads;
  c.intermediate = f.size_or("n_inner", 4 * c.width);
  c.norm_eps = f.real_or("layer_norm_epsilon", 1e-5);
  c.embedding_dropout = f.probability_or("embd_pdrop");
  c.attention_dropout = f.probability_or("attn_pdrop");
  c.residual_dropout = f.probability_or("resid_pdrop");
  c.tied_embeddings = f.flag_or("tie_word_embeddings", true);
  if (c.width % c.heads != 0) {
    f.fail("n_embd " + std::to_string(c.width) + " is not a multiple of n_head " +
           std::to_string(c.heads));
  }
  c.head_dim = c.width / c.heads;
  return c;
}

TransformerConfig llama_config(const Fields& f) {
  TransformerConfig c;
  c.family = TransformerFamily::llama;
  c.vocab = f.size("vocab_size");
  c.context = f.size("max_position_embeddings");
  c.width = f.size("hidden_size");
  c.layers = f.size("num_hidden_layers");
  c.heads = f.size("num_attention_heads");
  c.kv_heads = f.size_or("num_key_value_heads", c.heads);
  c.intermediate = f.size("intermediate_size");
  c.norm_eps = f.real_or("rms_norm_eps", 1e-6);
  c.rope_theta = f.real_or("rope_theta", 10000.0);
  c.attention_dropout = f.probability_or("attention_dropout");
  c.tied_embeddings = f.flag_or("tie_word_embeddings", false);
  c.attention_bias = f.flag_or("attention_bias", false);
  c.mlp_bias = f.flag_or("mlp_bias", false);
  if (!f.has("head_dim") && c.width % c.heads != 0) {
    f.fail("hidden_size " + std::to_string(c.width) + " is not a multiple of num_attention_heads " +
           std::to_string(c.heads));
  }
  c.head_dim = f.size_or("head_dim", c.width / c.heads);
  if (c.heads % c.kv_heads != 0) {
    f.fail("num_attention_heads " + std::to_string(c.heads) +
           " is not a multiple of num_key_value_heads " + std::to_string(c.kv_heads));
  }
  if (c.head_dim % 2 != 0) {
    f.fail("rotary embeddings need an even head_dim, got " + std::to_string(c.head_dim));
  }
  if (!(c.rope_theta > 0.0)) f.fail("field 'rope_theta' is not positive");
  return c;
}

TransformerConfig gpt2_size(std::string name, std::int64_t layers, std::int64_t width,
                            std::int64_t heads) {
  TransformerConfig c;
  c.name = std::move(name);
  c.vocab = 50257;
  c.context = 1024;
  c.width = width;
  c.layers = layers;
  c.heads = c.kv_heads = heads;
  c.head_dim = width / heads;
  c.intermediate = 4 * width;
  c.embedding_dropout = c.attention_dropout = c.residual_dropout = 0.1f;
  return c;
}

TransformerConfig tiny(std::string name, TransformerFamily family) {
  TransformerConfig c;
  c.name = std::move(name);
  c.family = family;
  c.vocab = 256;
  c.context = 64;
  c.width = 64;
  c.layers = 2;
  c.heads = 4;
  c.head_dim = 16;
  if (family == TransformerFamily::gpt2) {
    c.kv_heads = 4;
    c.intermediate = 256;
  } else {
    c.kv_heads = 2;
    c.intermediate = 176;
    c.tied_embeddings = c.attention_bias = c.mlp_bias = false;
  }
  return c;
}

}  // namespace

TransformerConfig parse_transformer_config(std::string_view text, const std::string& source) {
  Json json;
  try {
    json = Json::parse(text);
  } catch (const Json::parse_error& e) {
    throw UsageError(source + ": not valid JSON (" + std::string(e.what()) + ")");
  }
  if (!json.is_object()) throw UsageError(source + ": not a JSON object");
  const Fields fields(json, source);
  const auto type = json.find("model_type");
  if (type == json.end() || !type->is_string()) fields.fail("missing field 'model_type'");
  const std::string model_type = type->get<std::string>();
  TransformerConfig c;
  if (model_type == "gpt2") {
    c = gpt2_config(fields);
  } else if (model_type == "llama") {
    c = llama_config(fields);
  } else {
    fields.fail("model_type '" + model_type + "' is not supported (expected gpt2 or llama)");
  }
  c.name = source;
  return c;
}

TransformerConfig read_transformer_config(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) throw UsageError(path.string() + ": cannot read the model config");
  std::ostringstream text;
  text << in.rdbuf();
  return parse_transformer_config(text.str(), path.string());
}

std::vector<std::string> zoo_transformer_names() {
  return {"gpt2-124m", "gpt2-355m", "gpt2-774m", "gpt2-1.5b", "gpt-tiny", "llama-tiny"};
}

std::optional<TransformerConfig> zoo_transformer(std::string_view name) {
  if (name == "gpt2-124m") return gpt2_size("gpt2-124m", 12, 768, 12);
  if (name == "gpt2-355m") return gpt2_size("gpt2-355m", 24, 1024, 16);
  if (name == "gpt2-774m") return gpt2_size("gpt2-774m", 36, 1280, 20);
  if (name == "gpt2-1.5b") return gpt2_size("gpt2-1.5b", 48, 1600, 25);
  if (name == "gpt-tiny") return tiny("gpt-tiny", TransformerFamily::gpt2);
  if (name == "llama-tiny") return tiny("llama-tiny", TransformerFamily::llama);
  return std::nullopt;
}

std::int64_t transformer_parameters(const TransformerConfig& c) {
  const std::int64_t w = c.width, q = c.heads * c.head_dim, kv = c.kv_heads * c.head_dim;
  const std::int64_t i = c.intermediate;
  std::int64_t block = 0, total = c.vocab * w;
  if (c.family == TransformerFamily::gpt2) {
    block = 2 * 2 * w + (w * 3 * w + 3 * w) + (w * w + w) + (w * i + i) + (i * w + w);
    total += c.context * w + 2 * w;
  } else {
    const std::int64_t attention_bias = c.attention_bias ? q + 2 * kv + w : 0;
    const std::int64_t mlp_bias = c.mlp_bias ? 2 * i + w : 0;
    block = 2 * w + w * q + 2 * w * kv + q * w + attention_bias + 3 * w * i + mlp_bias;
    total += w;
  }
  if (!c.tied_embeddings) total += c.vocab * w;
  return total + c.layers * block;
}

}  // namespace tally::nn
