#!/usr/bin/env bash
# `tally train`'s report: its training steps' peaks apart from its evaluation's, and the L2 norm
# of every parameter after the last step (cpu; none on sim, which holds no data).
#   train_test.sh TALLY_BINARY
set -uo pipefail
tally="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/cli/expect.sh
source "$(dirname "$0")/expect.sh"

# The mlp's parameters, by the names its Sequential gives them (Linear layers 1, 3 and 5).
mlp_parameters="layers.1.bias layers.1.weight layers.3.bias layers.3.weight layers.5.bias \
layers.5.weight"

"$tally" train --model mlp --batch 257 --steps 2 --dataset synthetic --json >"$work/cpu.json" \
  2>/dev/null || fail "train on cpu failed"
if ! /usr/bin/python3 - "$work/cpu.json" "$mlp_parameters" <<'PY'; then
import json, math, sys
d = json.load(open(sys.argv[1]))
norms = d["parameter_norms"]
assert sorted(norms) == sys.argv[2].split(), sorted(norms)
assert all(math.isfinite(v) and v > 0 for v in norms.values()), norms
e = d["evaluation"]
assert e["peak_phase"] == "eval", e
# Evaluation holds what training left (the parameters at least), allocates less than a step
# (no gradients, nothing saved for backward) and still has training's segments reserved.
assert d["by_tag_at_peak"]["parameter"]["allocated_bytes"] <= e["peak_allocated_bytes"], e
assert e["peak_allocated_bytes"] < d["peak_allocated_bytes"], (e, d)
assert e["peak_reserved_bytes"] >= d["peak_reserved_bytes"], (e, d)
assert e["peak_requested_bytes"] <= e["peak_allocated_bytes"], e
assert d["peak_phase"] in ("forward", "backward", "optimizer"), d["peak_phase"]
PY
  fail "train --json's parameter_norms or evaluation are wrong: $(cat "$work/cpu.json")"
fi

"$tally" train --model mlp --steps 1 --dataset synthetic --device sim:cpu --json \
  >"$work/sim.json" 2>/dev/null || fail "train on sim:cpu failed"
if ! /usr/bin/python3 -c "import json,sys; d=json.load(open(sys.argv[1]))
assert 'parameter_norms' not in d and d['evaluation']['peak_phase'] == 'eval', d" \
  "$work/sim.json"; then
  fail "train --json on sim:cpu has parameter norms or no evaluation: $(cat "$work/sim.json")"
fi

expect 0 "^memory of the training steps" -- train --model mlp --steps 1 --batch 64 \
  --dataset synthetic --device sim:cpu
expect 0 "^evaluation$" -- train --model mlp --steps 1 --batch 64 --dataset synthetic \
  --device sim:cpu

# A transformer on a text's bytes: Llama's parameter names, the sequence length (the context,
# 64, under the cap of 256) and a finite loss.
"$tally" train --model llama-tiny --dataset "text:$(dirname "$0")/../../README.md" --steps 3 \
  --batch 4 --json >"$work/llama.json" 2>/dev/null || fail "train --model llama-tiny failed"
if ! /usr/bin/python3 -c "import json, math, sys; d = json.load(open(sys.argv[1]))
assert d['seq_len'] == 64 and math.isfinite(d['final_loss']), d
assert 'blocks.1.attn.q_proj.weight' in d['parameter_norms'], sorted(d['parameter_norms'])
assert 'lm_head.weight' in d['parameter_norms'], sorted(d['parameter_norms'])" \
  "$work/llama.json"; then
  fail "train --model llama-tiny --json: $(head -c 400 "$work/llama.json")"
fi
expect 0 "^tally train: gpt-tiny on synthetic \(1024 train, 128 test sequences of 64 tokens\)" \
  -- train --model gpt-tiny --steps 1 --batch 2 --device sim:cpu

finish train
