#include "nn/transformer.h"

#include <array>
#include <cmath>

#include "allocator/error.h"
#include "allocator/scope.h"
#include "autograd/attention.h"
#include "autograd/functions.h"
#include "autograd/nn_functions.h"
#include "nn/layers.h"
#include "ops/factory.h"
#include "ops/rotary.h"

namespace tally::nn {
namespace {

constexpr float kInitStd = 0.02f;

using Context = std::shared_ptr<DecoderContext>;

// Constructs a child inside the scope of its name, so that its parameters are attributed to its
// path from their first allocation, and registers it.
template <typename M, typename Parent, typename... Args>
M& child(Parent& parent, const std::string& name, Args&&... args) {
  MemoryScope scope(name);
  return parent.add_child(name, std::make_shared<M>(std::forward<Args>(args)...));
}

// A module that registers children from outside (the helpers above), in order.
class Composite : public Module {
 public:
  template <typename M>
  M& add_child(const std::string& name, std::shared_ptr<M> module) {
    return register_module(name, std::move(module));
  }
};

// [B, T, heads * head_dim] -> [B, heads, T, head_dim], a view.
Tensor split_heads(const Tensor& x, std::int64_t heads, std::int64_t head_dim) {
  const std::int64_t b = x.shape()[0], t = x.shape()[1];
  return transpose(reshape(x, {b, t, heads, head_dim}), 1, 2);
}

// GPT-2's attention: one projection to q, k and v (c_attn), heads of width / heads, c_proj.
class GptAttention : public Composite {
 public:
  GptAttention(const TransformerConfig& c, Context context, Device device)
      : config_(c), context_(std::move(context)) {
    c_attn_ = &child<Linear>(*this, "c_attn", c.width, 3 * c.width, true, device, kInitStd);
    c_proj_ = &child<Linear>(*this, "c_proj", c.width, c.width, true, device, residual_std(c));
  }
  static float residual_std(const TransformerConfig& c) {
    return kInitStd / std::sqrt(2.0f * static_cast<float>(c.layers));
  }
  Tensor forward(const Tensor& x) override {
    const std::int64_t w = config_.width;
    const Tensor qkv = c_attn_->call(x, "c_attn");
    const auto part = [&](std::int64_t i) {
      return split_heads(slice(qkv, 2, i * w, (i + 1) * w), config_.heads, config_.head_dim);
    };
    const Tensor y = causal_attention(part(0), part(1), part(2), context_->mask,
                                      config_.attention_dropout, training());
    return dropout(c_proj_->call(y, "c_proj"), config_.residual_dropout, training());
  }
  std::string describe() const override { return "GptAttention"; }

 private:
  TransformerConfig config_;
  Context context_;
  Linear* c_attn_;
  Linear* c_proj_;
};

class GptMlp : public Composite {
 public:
  GptMlp(const TransformerConfig& c, Device device) : p_(c.residual_dropout) {
    c_fc_ = &child<Linear>(*this, "c_fc", c.width, c.intermediate, true, device, kInitStd);
    c_proj_ = &child<Linear>(*this, "c_proj", c.intermediate, c.width, true, device,
                             GptAttention::residual_std(c));
  }
  Tensor forward(const Tensor& x) override {
    const Tensor h = gelu(c_fc_->call(x, "c_fc"));
    return dropout(c_proj_->call(h, "c_proj"), p_, training());
  }
  std::string describe() const override { return "GptMlp"; }

 private:
  float p_;
  Linear* c_fc_;
  Linear* c_proj_;
};

// Llama's attention: separate q, k, v projections (k and v with kv_heads heads), rotary
// embeddings on q and k, kv heads repeated for grouped-query attention, o_proj.
class LlamaAttention : public Composite {
 public:
  LlamaAttention(const TransformerConfig& c, Context context, Device device)
      : config_(c), context_(std::move(context)) {
    const std::int64_t q = c.heads * c.head_dim, kv = c.kv_heads * c.head_dim;
    const bool bias = c.attention_bias;
    q_proj_ = &child<Linear>(*this, "q_proj", c.width, q, bias, device, kInitStd);
    k_proj_ = &child<Linear>(*this, "k_proj", c.width, kv, bias, device, kInitStd);
    v_proj_ = &child<Linear>(*this, "v_proj", c.width, kv, bias, device, kInitStd);
    o_proj_ = &child<Linear>(*this, "o_proj", q, c.width, bias, device, kInitStd);
  }
  Tensor forward(const Tensor& x) override {
    const DecoderContext& ctx = *context_;
    const std::int64_t repeats = config_.heads / config_.kv_heads;
    const Tensor q = rotary_embedding(
        split_heads(q_proj_->call(x, "q_proj"), config_.heads, config_.head_dim), ctx.cos, ctx.sin);
    const Tensor k = rotary_embedding(
        split_heads(k_proj_->call(x, "k_proj"), config_.kv_heads, config_.head_dim), ctx.cos,
        ctx.sin);
    const Tensor v = split_heads(v_proj_->call(x, "v_proj"), config_.kv_heads, config_.head_dim);
    const Tensor y = causal_attention(q, repeat_kv(k, repeats), repeat_kv(v, repeats), ctx.mask,
                                      config_.attention_dropout, training());
    return o_proj_->call(y, "o_proj");
  }
  std::string describe() const override { return "LlamaAttention"; }

 private:
  TransformerConfig config_;
  Context context_;
  Linear *q_proj_, *k_proj_, *v_proj_, *o_proj_;
};

// SwiGLU: down_proj(silu(gate_proj(x)) * up_proj(x)).
class LlamaMlp : public Composite {
 public:
  LlamaMlp(const TransformerConfig& c, Device device) {
    const bool bias = c.mlp_bias;
    gate_ = &child<Linear>(*this, "gate_proj", c.width, c.intermediate, bias, device, kInitStd);
    up_ = &child<Linear>(*this, "up_proj", c.width, c.intermediate, bias, device, kInitStd);
    down_ = &child<Linear>(*this, "down_proj", c.intermediate, c.width, bias, device, kInitStd);
  }
  Tensor forward(const Tensor& x) override {
    const Tensor gate = silu(gate_->call(x, "gate_proj"));
    return down_->call(mul(gate, up_->call(x, "up_proj")), "down_proj");
  }
  std::string describe() const override { return "LlamaMlp"; }

 private:
  Linear *gate_, *up_, *down_;
};

// Pre-norm residual block: x + attn(norm1(x)), then + mlp(norm2(x)).
class DecoderBlock : public Composite {
 public:
  DecoderBlock(const TransformerConfig& c, const Context& context, Device device) {
    if (c.family == TransformerFamily::gpt2) {
      norm1_ = &child<LayerNorm>(*this, "ln_1", c.width, static_cast<float>(c.norm_eps), device);
      names_ = {"ln_1", "ln_2"};
      attn_ = &child<GptAttention>(*this, "attn", c, context, device);
      norm2_ = &child<LayerNorm>(*this, "ln_2", c.width, static_cast<float>(c.norm_eps), device);
      mlp_ = &child<GptMlp>(*this, "mlp", c, device);
    } else {
      const auto eps = static_cast<float>(c.norm_eps);
      norm1_ = &child<RMSNorm>(*this, "input_layernorm", c.width, eps, device);
      names_ = {"input_layernorm", "post_attention_layernorm"};
      attn_ = &child<LlamaAttention>(*this, "attn", c, context, device);
      norm2_ = &child<RMSNorm>(*this, "post_attention_layernorm", c.width, eps, device);
      mlp_ = &child<LlamaMlp>(*this, "mlp", c, device);
    }
  }
  Tensor forward(const Tensor& x) override {
    const Tensor h = add(x, attn_->call(norm1_->call(x, names_[0]), "attn"));
    return add(h, mlp_->call(norm2_->call(h, names_[1]), "mlp"));
  }
  std::string describe() const override { return "DecoderBlock"; }

 private:
  std::array<const char*, 2> names_{};
  Module *norm1_, *attn_, *norm2_, *mlp_;
};

class DecoderModel : public Composite {
 public:
  DecoderModel(const TransformerConfig& c, Device device)
      : config_(c), context_(std::make_shared<DecoderContext>()), device_(device) {
    const bool gpt2 = c.family == TransformerFamily::gpt2;
    embed_ =
        &child<Embedding>(*this, gpt2 ? "wte" : "embed_tokens", c.vocab, c.width, device, kInitStd);
    if (gpt2) position_ = &child<Embedding>(*this, "wpe", c.context, c.width, device, kInitStd);
    if (!gpt2) {
      MemoryScope scope("rotary");
      ops::RotaryTables tables =
          ops::rotary_tables(c.context, c.head_dim, c.rope_theta, device, Tag::other);
      cos_ = std::move(tables.cos);
      sin_ = std::move(tables.sin);
    }
    blocks_ = std::make_shared<Sequential>();
    for (std::int64_t i = 0; i < c.layers; ++i) {
      MemoryScope scope("blocks." + std::to_string(i));
      blocks_->add(std::make_shared<DecoderBlock>(c, context_, device));
    }
    add_child("blocks", blocks_);
    const auto eps = static_cast<float>(c.norm_eps);
    if (gpt2) {
      norm_ = &child<LayerNorm>(*this, "ln_f", c.width, eps, device);
    } else {
      norm_ = &child<RMSNorm>(*this, "norm", c.width, eps, device);
    }
    if (!c.tied_embeddings) {
      head_ = &child<Linear>(*this, "lm_head", c.width, c.vocab, false, device, kInitStd);
    }
  }

  Tensor forward(const Tensor& tokens) override {
    if (tokens.dim() != 2 || tokens.dtype() != DType::i64) {
      throw UsageError(config_.name + ": expected i64 tokens [batch, sequence], got " +
                       tokens.describe());
    }
    const std::int64_t b = tokens.shape()[0], t = tokens.shape()[1];
    if (t > config_.context) {
      throw UsageError(config_.name + ": sequence length " + std::to_string(t) +
                       " exceeds the context of " + std::to_string(config_.context));
    }
    context_->mask = ops::causal_mask(t, device_);
    if (cos_.defined()) {
      context_->cos = cos_.slice(0, 0, t);
      context_->sin = sin_.slice(0, 0, t);
    }
    const bool gpt2 = config_.family == TransformerFamily::gpt2;
    Tensor x = embed_->call(tokens, gpt2 ? "wte" : "embed_tokens");
    if (position_) {
      const Tensor positions = ops::arange(t, DType::i64, device_);
      x = dropout(add(x, position_->call(positions, "wpe")), config_.embedding_dropout, training());
    }
    x = norm_->call(blocks_->call(x, "blocks"), gpt2 ? "ln_f" : "norm");
    MemoryScope scope("lm_head");
    const Tensor logits = head_ ? head_->forward(x) : linear(x, embed_->weight());
    return reshape(logits, {b * t, config_.vocab});
  }
  std::string describe() const override { return config_.name; }

 private:
  TransformerConfig config_;
  Context context_;
  Device device_;
  Embedding* embed_ = nullptr;
  Embedding* position_ = nullptr;
  std::shared_ptr<Sequential> blocks_;
  Module* norm_ = nullptr;
  Linear* head_ = nullptr;
  Tensor cos_, sin_;
};

}  // namespace

std::shared_ptr<Module> make_transformer(const TransformerConfig& config, Device device) {
  return std::make_shared<DecoderModel>(config, device);
}

}  // namespace tally::nn
