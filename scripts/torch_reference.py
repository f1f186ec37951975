#!/usr/bin/python3
"""Writes PyTorch's forward and backward for four small models, for tally's end-to-end test.

Usage: /usr/bin/python3 scripts/torch_reference.py [output-dir]
(Debian's python3 with python3-torch and python3-numpy; the default output directory is
tests/data/torch_reference/ next to this script's parent.) tests/nn/torch_reference_test.cpp
rebuilds the same models with tally, loads PyTorch's parameters, and compares the loss and every
gradient. The output is deterministic: a fixed seed, one thread, deterministic algorithms.

Models (float32, cross-entropy with integer labels, mean over the batch):
  mlp  input [8, 1, 8, 8]
       layers = Flatten, Linear(64, 32), ReLU, Linear(32, 16), GELU(approximate='tanh'),
                Linear(16, 10)
  cnn  input [4, 1, 12, 12]
       features = Conv2d(1, 4, 3, padding=1) -> [4, 4, 12, 12], ReLU,
                  MaxPool2d(2) -> [4, 4, 6, 6],
                  Conv2d(4, 6, 3) -> [4, 6, 4, 4], ReLU,
                  AvgPool2d(2) -> [4, 6, 2, 2]
       classifier = Flatten -> [4, 24], Linear(24, 10)
  gpt-tiny    tokens i64 [2, 16], labels i64 [32]: the zoo's gpt-tiny (nn/transformer.h), GPT-2
              with vocab 256, context 64, width 64, 2 layers of 4 heads, MLP 256, tied LM head
  llama-tiny  tokens i64 [2, 16], labels i64 [32]: the zoo's llama-tiny, Llama with 4 heads over
              2 kv heads (grouped-query), intermediate 176, RMSNorm, rotary embeddings, no biases,
              an untied LM head
The transformers are written out op by op (GptTiny, LlamaTiny below) rather than taken from a
library, so that bench/compare_torch_memory.py can use the same code as its PyTorch reference for
the memory of a training step. Their sequence (16) is shorter than their context (64): the
position rows past it must get zero gradients. Their parameters are not PyTorch's defaults but
drawn by init_transformer(), so that norm weights and biases are not 1 and 0 (which would leave
their gradients barely tested) and attention is not quite uniform.

File format, one file per model (<model>.bin): the line "tally-torch-reference 1\n", then
records until the end of the file. A record is one ASCII header line
    <name> <dtype> <rank> <dim0> ... <dimN-1>\n
(dtype is f32 or i64; a scalar has rank 0) followed by the elements in row-major order as raw
little-endian float32 or int64. Records: "input", "labels", "loss", every parameter under its
PyTorch name ("layers.1.weight"), then "<name>.grad" for every parameter and "input.grad"
(not for the transformers, whose input is integer tokens). The transformers' parameter names are
tally's (nn::make_model("gpt-tiny")->named_parameters()), which are Hugging Face's with the layers
under "blocks".
"""

import math

import os
import sys

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F

SEED = 20240601
MAGIC = b"tally-torch-reference 1\n"


class Mlp(nn.Module):
    input_shape = [8, 1, 8, 8]

    def __init__(self):
        super().__init__()
        self.layers = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64, 32),
            nn.ReLU(),
            nn.Linear(32, 16),
            nn.GELU(approximate="tanh"),
            nn.Linear(16, 10),
        )

    def forward(self, x):
        return self.layers(x)


class Cnn(nn.Module):
    input_shape = [4, 1, 12, 12]

    def __init__(self):
        super().__init__()
        self.features = nn.Sequential(
            nn.Conv2d(1, 4, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(4, 6, 3, stride=1, padding=0),
            nn.ReLU(),
            nn.AvgPool2d(2),
        )
        self.classifier = nn.Sequential(nn.Flatten(), nn.Linear(6 * 2 * 2, 10))

    def forward(self, x):
        return self.classifier(self.features(x))


class GptTiny(nn.Module):
    """GPT-2 as tally's nn/transformer.cpp builds it, in PyTorch's eager ops, one per line.

    Modules are named and nested as tally's scopes are (blocks.0.attn.c_attn), so that the memory
    comparison can set the two side by side. Linear layers are nn.Linear ([out, in] weights), not
    Hugging Face's Conv1D, as in tally.
    """

    def __init__(self, vocab=256, context=64, width=64, layers=2, heads=4, inner=256, eps=1e-5):
        super().__init__()
        self.wte = nn.Embedding(vocab, width)
        self.wpe = nn.Embedding(context, width)
        self.blocks = nn.ModuleList(GptBlock(width, heads, inner, eps) for _ in range(layers))
        self.ln_f = nn.LayerNorm(width, eps=eps)

    def forward(self, tokens):
        b, t = tokens.shape
        x = self.wte(tokens) + self.wpe(torch.arange(t, device=tokens.device))
        mask = causal_mask(t, tokens.device)
        for block in self.blocks:
            x = block(x, mask)
        x = self.ln_f(x)
        logits = F.linear(x, self.wte.weight)  # the LM head, tied to wte
        return logits.view(b * t, -1)


def causal_mask(t, device):
    """True above the diagonal: where a query may not look."""
    return torch.triu(torch.ones(t, t, dtype=torch.bool, device=device), diagonal=1)


class GptBlock(nn.Module):
    def __init__(self, width, heads, inner, eps):
        super().__init__()
        self.ln_1 = nn.LayerNorm(width, eps=eps)
        self.attn = GptAttention(width, heads)
        self.ln_2 = nn.LayerNorm(width, eps=eps)
        self.mlp = GptMlp(width, inner)

    def forward(self, x, mask):
        x = x + self.attn(self.ln_1(x), mask)
        return x + self.mlp(self.ln_2(x))


class GptAttention(nn.Module):
    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        self.c_attn = nn.Linear(width, 3 * width)
        self.c_proj = nn.Linear(width, width)

    def forward(self, h, mask):
        b, t, c = h.shape
        hd = c // self.heads
        q, k, v = self.c_attn(h).split(c, dim=2)
        q = q.view(b, t, self.heads, hd).transpose(1, 2)
        k = k.view(b, t, self.heads, hd).transpose(1, 2)
        v = v.view(b, t, self.heads, hd).transpose(1, 2)
        return self.c_proj(attention(q, k, v, mask))


class GptMlp(nn.Module):
    def __init__(self, width, inner):
        super().__init__()
        self.c_fc = nn.Linear(width, inner)
        self.c_proj = nn.Linear(inner, width)

    def forward(self, h):
        return self.c_proj(F.gelu(self.c_fc(h), approximate="tanh"))


def attention(q, k, v, mask):
    """Eager causal attention over [B, H, T, d] heads; returns [B, T, H * d]."""
    b, heads, t, hd = q.shape
    att = (q @ k.transpose(-2, -1)) * (1.0 / math.sqrt(hd))
    att = att.masked_fill(mask, float("-inf"))
    att = F.softmax(att, dim=-1)
    return (att @ v).transpose(1, 2).contiguous().view(b, t, heads * hd)


class RmsNorm(nn.Module):
    """Hugging Face's LlamaRMSNorm (for float32 input)."""

    def __init__(self, width, eps):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(width))
        self.eps = eps

    def forward(self, x):
        variance = x.pow(2).mean(-1, keepdim=True)
        x = x * torch.rsqrt(variance + self.eps)
        return self.weight * x


class LlamaTiny(nn.Module):
    """Llama as tally's nn/transformer.cpp builds it, with Hugging Face's rotate_half rotary."""

    def __init__(self, vocab=256, context=64, width=64, layers=2, heads=4, kv_heads=2,
                 inner=176, eps=1e-5, theta=10000.0):
        super().__init__()
        head_dim = width // heads
        self.embed_tokens = nn.Embedding(vocab, width)
        self.blocks = nn.ModuleList(LlamaBlock(width, heads, kv_heads, inner, eps)
                                    for _ in range(layers))
        self.norm = RmsNorm(width, eps)
        self.lm_head = nn.Linear(width, vocab, bias=False)
        # Built once for the whole context, as tally's tables are (its "rotary" scope, tag other).
        inv_freq = 1.0 / (theta ** (torch.arange(0, head_dim, 2).float() / head_dim))
        freqs = torch.outer(torch.arange(context).float(), inv_freq)  # [context, head_dim / 2]
        self.register_buffer("cos", freqs.cos(), persistent=False)
        self.register_buffer("sin", freqs.sin(), persistent=False)

    def forward(self, tokens):
        b, t = tokens.shape
        x = self.embed_tokens(tokens)
        mask = causal_mask(t, tokens.device)
        cos, sin = self.cos[:t], self.sin[:t]
        for block in self.blocks:
            x = block(x, mask, cos, sin)
        logits = self.lm_head(self.norm(x))
        return logits.view(b * t, -1)


class LlamaBlock(nn.Module):
    def __init__(self, width, heads, kv_heads, inner, eps):
        super().__init__()
        self.input_layernorm = RmsNorm(width, eps)
        self.attn = LlamaAttention(width, heads, kv_heads)
        self.post_attention_layernorm = RmsNorm(width, eps)
        self.mlp = LlamaMlp(width, inner)

    def forward(self, x, mask, cos, sin):
        x = x + self.attn(self.input_layernorm(x), mask, cos, sin)
        return x + self.mlp(self.post_attention_layernorm(x))


def rotary(x, cos, sin):
    """Rotates [..., T, d] by [T, d / 2] tables, in Hugging Face Llama's rotate_half layout."""
    half = x.shape[-1] // 2
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat((x1 * cos - x2 * sin, x2 * cos + x1 * sin), dim=-1)


def repeat_kv(x, repeats):
    """Hugging Face's repeat_kv: [B, kv, T, d] -> [B, kv * repeats, T, d]."""
    b, kv, t, hd = x.shape
    if repeats == 1:
        return x
    return x[:, :, None].expand(b, kv, repeats, t, hd).reshape(b, kv * repeats, t, hd)


class LlamaAttention(nn.Module):
    def __init__(self, width, heads, kv_heads):
        super().__init__()
        self.heads, self.kv_heads, self.head_dim = heads, kv_heads, width // heads
        self.q_proj = nn.Linear(width, heads * self.head_dim, bias=False)
        self.k_proj = nn.Linear(width, kv_heads * self.head_dim, bias=False)
        self.v_proj = nn.Linear(width, kv_heads * self.head_dim, bias=False)
        self.o_proj = nn.Linear(heads * self.head_dim, width, bias=False)

    def forward(self, h, mask, cos, sin):
        b, t, _ = h.shape
        hd = self.head_dim
        q = self.q_proj(h).view(b, t, self.heads, hd).transpose(1, 2)
        k = self.k_proj(h).view(b, t, self.kv_heads, hd).transpose(1, 2)
        v = self.v_proj(h).view(b, t, self.kv_heads, hd).transpose(1, 2)
        q, k = rotary(q, cos, sin), rotary(k, cos, sin)
        repeats = self.heads // self.kv_heads
        y = attention(q, repeat_kv(k, repeats), repeat_kv(v, repeats), mask)
        return self.o_proj(y)


class LlamaMlp(nn.Module):
    """SwiGLU."""

    def __init__(self, width, inner):
        super().__init__()
        self.gate_proj = nn.Linear(width, inner, bias=False)
        self.up_proj = nn.Linear(width, inner, bias=False)
        self.down_proj = nn.Linear(inner, width, bias=False)

    def forward(self, h):
        return self.down_proj(F.silu(self.gate_proj(h)) * self.up_proj(h))


# The scale trades two things. GPT-2's 0.02 leaves the attention scores' spread at ~0.03-0.05, so
# near-uniform attention; 0.1 spreads them (~0.6) but makes the float32 noise of either library
# (against a float64 rerun: PyTorch's up to 1.2e-5, tally's up to 8e-6, on norm weights and
# projections) as large as the test's 1e-5 rule. 0.05 spreads the scores to ~0.16 (the largest
# weight 1.1-1.25x uniform) with the worst tally-PyTorch difference at 3.6e-6.
MATRIX_STD = 0.05
NORM_STD = 0.1


def init_transformer(model):
    """Draws every parameter, in order: matrices and embeddings N(0, MATRIX_STD), norm weights
    1 + N(0, NORM_STD), biases N(0, NORM_STD)."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            if p.dim() == 2:
                p.normal_(0.0, MATRIX_STD)
            elif name.endswith(".bias"):
                p.normal_(0.0, NORM_STD)
            else:
                p.normal_(1.0, NORM_STD)
    return model


def record(name, tensor):
    array = tensor.detach().cpu().contiguous().numpy()
    if array.dtype == np.float32:
        dtype, layout = "f32", "<f4"
    elif array.dtype == np.int64:
        dtype, layout = "i64", "<i8"
    else:
        raise TypeError(f"{name}: unsupported dtype {array.dtype}")
    header = " ".join([name, dtype, str(array.ndim)] + [str(d) for d in array.shape]) + "\n"
    return header.encode("ascii") + array.astype(layout).tobytes()


def reference(model_class):
    # Seeded per model so that each file depends only on its own model.
    torch.manual_seed(SEED)
    model = model_class()
    x = torch.randn(model.input_shape, dtype=torch.float32, requires_grad=True)
    labels = torch.randint(0, 10, (model.input_shape[0],), dtype=torch.int64)
    loss = nn.functional.cross_entropy(model(x), labels)
    loss.backward()
    params = list(model.named_parameters())
    records = [record("input", x), record("labels", labels), record("loss", loss)]
    records += [record(name, p) for name, p in params]
    records += [record(name + ".grad", p.grad) for name, p in params]
    records.append(record("input.grad", x.grad))
    return MAGIC + b"".join(records)


def transformer_reference(model_class, batch=2, seq=16, vocab=256):
    torch.manual_seed(SEED)
    model = init_transformer(model_class())
    tokens = torch.randint(0, vocab, (batch, seq), dtype=torch.int64)
    labels = torch.randint(0, vocab, (batch * seq,), dtype=torch.int64)
    loss = F.cross_entropy(model(tokens), labels)
    loss.backward()
    params = list(model.named_parameters())
    records = [record("input", tokens), record("labels", labels), record("loss", loss)]
    records += [record(name, p) for name, p in params]
    records += [record(name + ".grad", p.grad) for name, p in params]
    return MAGIC + b"".join(records)


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out_dir = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "tests", "data",
                                                                 "torch_reference")
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    for name, make in [("mlp", lambda: reference(Mlp)), ("cnn", lambda: reference(Cnn)),
                       ("gpt-tiny", lambda: transformer_reference(GptTiny)),
                       ("llama-tiny", lambda: transformer_reference(LlamaTiny))]:
        data = make()
        path = os.path.join(out_dir, name + ".bin")
        with open(path, "wb") as f:
            f.write(data)
        print(f"{path}: {len(data)} bytes")


if __name__ == "__main__":
    main()
