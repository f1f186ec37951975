#!/usr/bin/env bash
# `tally estimate`, `tally fit` and training on sim: the estimate's peaks equal a real cpu run's
# to the byte, the largest batch fit finds fits and the next does not, a run past a preset's
# memory fails as on a device, and bad input is one line with exit 2.
#   estimate_test.sh TALLY_BINARY
set -uo pipefail
tally="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/cli/expect.sh
source "$(dirname "$0")/expect.sh"

json_field() {  # json_field FIELD JSON: one field of a JSON object
  /usr/bin/python3 -c "import json,sys; print(json.loads(sys.argv[2])[sys.argv[1]])" "$1" "$2"
}

peaks() {  # peaks JSON: the three peaks, on one line
  /usr/bin/python3 -c "import json,sys; d=json.loads(sys.argv[1]); \
print(d['peak_requested_bytes'], d['peak_allocated_bytes'], d['peak_reserved_bytes'])" "$1"
}

# The same steps three ways: estimated on sim:cpu, trained on cpu (its training steps' peaks,
# evaluation apart) and trained on sim:cpu; batches that are not powers of two, both optimizers,
# every strategy and caching knob (limit:96MiB makes the cnn's cache retry at batch 257; the
# garbage collection threshold acts against that limit).
for run in "mlp 257 sgd 0 default" "cnn 100 adamw 0 strategy:direct" \
  "mlp 3 sgd 0.9 max_split_size_mb:21" "cnn 257 sgd 0.9 limit:96MiB" "gpt-tiny 3 adamw 0 default" \
  "llama-tiny 2 sgd 0.9 max_split_size_mb:21" "cnn 65 adamw 0 expandable_segments:True" \
  "mlp 100 sgd 0.9 strategy:buddy" "gpt-tiny 5 adamw 0 strategy:binning,binning_fallback:expandable" \
  "cnn 33 sgd 0 strategy:arena" \
  "cnn 257 sgd 0.9 roundup_power2_divisions:[256:1,512:2,>:8],garbage_collection_threshold:0.5,limit:96MiB"; do
  read -r model batch optimizer momentum conf <<<"$run"
  step=(--model "$model" --batch "$batch" --optimizer "$optimizer" --momentum "$momentum"
    --steps 2)
  [ "$conf" = default ] || step+=(--alloc-conf "$conf")
  estimated=$(peaks "$("$tally" estimate "${step[@]}" --target cpu --json)")
  trained=$(peaks "$("$tally" train "${step[@]}" --dataset synthetic --json 2>/dev/null)")
  simulated=$(peaks "$("$tally" train "${step[@]}" --dataset synthetic --device sim:cpu \
    --json 2>/dev/null)")
  if [ -z "$trained" ] || [ "$estimated" != "$trained" ] || [ "$simulated" != "$trained" ]; then
    fail "$run: estimate ($estimated), train on sim:cpu ($simulated) and train on cpu" \
      "($trained) disagree on the peaks (requested allocated reserved)"
  fi
done

expect 0 "peak reached during (forward|backward|optimizer)" -- estimate --model cnn --batch 32
expect 0 "parameter +4 +[0-9]+ +[0-9]+ +[0-9]+  requested = textbook" -- estimate --model mlp
expect 0 "optimizer +8 .* requested = textbook" -- estimate --model mlp --optimizer adamw
expect 0 "optimizer +4 .* requested = textbook" -- estimate --model mlp --momentum 0.9
expect 0 "device total as h100-80gb" -- estimate --model mlp
expect 0 "context and libraries +600.00 MiB" -- estimate --model mlp
expect 0 "cuDNN workspaces: bound \(64.00 MiB" -- estimate --model cnn
expect 0 "fits, with [0-9.]+ GiB to spare" -- estimate --model cnn --device-preset a100-40gb
expect 0 "does NOT fit: it needs" -- estimate --model cnn --batch 200000 --device-preset t4-16gb
expect 0 "with 1.00 GiB" -- estimate --model mlp --target cpu --capacity 1GiB
expect 0 "does NOT fit under the allocator's limit" -- estimate --model cnn --batch 257 \
  --target cpu --alloc-conf limit:80MiB
# The libraries' workspaces are theirs, listed apart from the modules: cuBLAS's 32 MiB on sm_90.
if ! "$tally" estimate --model mlp --json | /usr/bin/python3 -c "import json,sys
d = json.load(sys.stdin)
assert d['libraries_at_peak'] == [{'scope': '(cublas)', 'allocated_bytes': 32 << 20}], d
assert all(not m['scope'].startswith('(') for m in d['top_modules_at_peak']), d"; then
  fail "estimate --json does not list cuBLAS's workspace apart from the modules"
fi
expect 0 "^    \(cublas\) +32.00 MiB" -- estimate --model mlp
json=$("$tally" estimate --model cnn --json)
for key in peak_allocated_bytes peak_phase by_tag_at_peak top_modules_at_peak libraries_at_peak \
  model_states parameters fits footprint; do
  if ! /usr/bin/python3 -c "import json,sys; assert '$key' in json.loads(sys.argv[1])" "$json" \
    2>/dev/null; then
    fail "estimate --json lacks $key: $json"
  fi
done
expect 0 "report written" -- estimate --model cnn --report "$work/estimate.html" --trace \
  "$work/estimate.csv"
grep -q "peak-marker" "$work/estimate.html" || fail "estimate --report wrote no report"
expect 0 "^caching " -- replay "$work/estimate.csv"

# fit's answer, checked by estimate: that batch fits the budget and the next one does not.
fit=$("$tally" fit --model cnn --optimizer adamw --budget 2GiB --json)
batch=$(json_field batch "$fit")
if [ -z "$batch" ] || [ "$batch" -lt 1 ]; then
  fail "fit found no batch: $fit"
else
  fits=$(json_field fits "$("$tally" estimate --model cnn --optimizer adamw --capacity 2GiB \
    --batch "$batch" --json)")
  next=$(json_field fits "$("$tally" estimate --model cnn --optimizer adamw --capacity 2GiB \
    --batch $((batch + 1)) --json)")
  if [ "$fits" != True ] || [ "$next" != False ]; then
    fail "fit says batch $batch, but estimate says it fits: $fits, and $((batch + 1)): $next"
  fi
fi
expect 0 "largest batch that fits: [0-9]+" -- fit --model mlp --budget 8GiB --device-preset l4-24gb

# fit --checkpoint auto: the plan fits, and no candidate that recomputes less does, at the batch
# given and at the largest batch found.
for batch_flag in "--batch 6000" ""; do
  # shellcheck disable=SC2086  # the flag and its value, or nothing
  plan=$("$tally" fit --model deep-mlp --checkpoint auto --budget 2GiB $batch_flag --json)
  if ! /usr/bin/python3 -c "
import json, sys
d = json.loads(sys.argv[1])
chosen = next(c for c in d['candidates'] if c['policy'] == d['checkpoint'])
assert chosen['fits'], 'the plan does not fit'
assert d['checkpoint'] != 'none', 'deep-mlp fits 2 GiB without checkpointing?'
cheaper = [c for c in d['candidates'] if c['recompute_fraction'] < chosen['recompute_fraction']]
assert cheaper and not any(c['fits'] for c in cheaper), 'a cheaper candidate fits'
assert len(d['candidates']) == 64, len(d['candidates'])
" "$plan"; then
    fail "fit --checkpoint auto $batch_flag: $plan"
  fi
done
expect 0 "plan: checkpoint every:[0-9]+, recomputation \+[0-9.]+% GEMM and convolution FLOPs" -- \
  fit --model deep-mlp --checkpoint auto --budget 2GiB
expect 1 "no batch fits" -- fit --model cnn --budget 100MiB

# Past a preset's memory, a sim run fails as a device does.
expect 4 "out of memory on sim:cuda: asked" -- train --model cnn --steps 1 --batch 60000 \
  --dataset synthetic --device sim:cuda --device-preset t4-16gb
expect 0 "report written" -- train --model mlp --steps 1 --dataset synthetic --device sim \
  --report "$work/train.html"

expect_one_line_error estimate --model resnet
expect_one_line_error estimate --target tpu
expect_one_line_error estimate --precision fp8
expect_one_line_error train --precision half
# Each arrangement's bytes per parameter: the textbook's, to the byte (AdamW, cnn: 225034).
expect 0 "^  parameter +2 +450068 +450068 .*requested = textbook" -- \
  estimate --precision fp16 --model cnn --optimizer adamw
expect 0 "^  optimizer +12 +2700408 +2700408 .*requested = textbook" -- \
  estimate --precision bf16 --model cnn --optimizer adamw
expect 0 "^  cast_cache +2 +450068 +450068 .*requested = textbook" -- \
  estimate --precision amp-fp16 --model cnn --batch 256
expect 0 "^  amp-fp16: autocast keeps parameters, gradients and optimizer state in f32" -- \
  estimate --precision amp-fp16 --model cnn --batch 256
expect_one_line_error estimate --checkpoint every-2
expect_one_line_error estimate --checkpoint every:0
expect_one_line_error estimate --checkpoint auto
expect_one_line_error train --checkpoint auto
expect_error 2 "block 9 does not exist \(the model has 6 blocks, 0 to 5\)" -- \
  estimate --model mlp --checkpoint blocks:9
expect_error 2 "every:11: K is above the model's 10 blocks" -- \
  estimate --model cnn --checkpoint every:11
expect_error 2 "--batch goes with --checkpoint auto" -- fit --budget 1GiB --batch 8
# What a policy recomputes: 26 of deep-mlp's 32 blocks under sqrt (segments of 5, 5, 5, 5, 6 and
# 6, the last plain), their forward GEMMs again: 26/32 of a third of the step's FLOPs, less the
# stem's and head's share.
expect 0 "^checkpoint sqrt: 26 of 32 blocks recomputed in backward, in 5 segment\(s\); \+26\.9% " \
  -- estimate --model deep-mlp --checkpoint sqrt
expect 0 "^checkpoint none: 0 of 6 blocks recomputed in backward, in 0 segment\(s\); \+0\.0% " \
  -- estimate --model mlp
expect_one_line_error estimate --device-preset v100

# Every numeric flag of estimate and fit refuses nan, inf, -inf and values out of its range, in
# one line naming the flag and the range.
for command in "estimate" "fit --budget 1GiB"; do
  # shellcheck disable=SC2086  # the command's words
  set -- $command
  expect_refused --batch "$not_a_whole_number [1, 16777216]" 0 16777217 1e3 -- "$@"
  expect_refused --momentum "$not_a_number [0, 1)" 1 -0.5 -- "$@"
  expect_refused --seed "$not_a_whole_number [0, 18446744073709551615]" -1 \
    18446744073709551616 -- "$@"
  expect_refused --steps "$not_a_whole_number [1, 1000]" 0 1001 -- "$@"
  expect_refused --capacity "$not_a_size" 0 -1 18446744073709551616 16777216TiB 12XB -- "$@"
  for value in nan inf -inf 0 18446744073709551616; do
    expect_error 2 "^tally: error: --alloc-conf: bad value '$value' for key 'limit'" -- \
      "$@" --alloc-conf "limit:$value"
  done
done
expect_refused --budget "$not_a_size" 0 -1GiB 18446744073709551616 17179869184GiB lots -- fit
expect_refused --max-batch "$not_a_whole_number [1, 16777216]" 0 16777217 -- fit --budget 1GiB
# One rank of DDP on sim. mlp's gradients in backward order: layers.5 (10 + 10240 elements) and
# layers.3 (1024 + 1048576) pass the first bucket's 1 MiB at 1059850 elements; layers.1 (1024 +
# 802816) is the second bucket: 1863690 elements, 7454760 B. ZeRO-1 over 4 pads the first bucket
# to 1059852 elements: 7454768 B.
for zero in 0 1; do
  "$tally" estimate --model mlp --world-size 4 --rank 3 --zero "$zero" --json >"$work/ddp.json" ||
    fail "estimate --world-size 4 --zero $zero failed"
  /usr/bin/python3 - "$work/ddp.json" "$zero" <<'PY' || fail "estimate --world-size 4 --zero $zero"
import json, sys
d, zero = json.load(open(sys.argv[1])), int(sys.argv[2])
p = d["parallel"]
assert (p["world_size"], p["rank"], p["zero"], p["buckets"]) == (4, 3, zero, 2), p
assert p["bucket_bytes"] == (7454768 if zero else 7454760), p
states = {s["tag"]: s for s in d["model_states"]}
assert states["gradient"]["measured_tag"] == "communication", states["gradient"]
PY
done
expect 0 "^DDP over 4 rank\(s\) \(rank 0\), 25 MiB buckets, ZeRO-1: 2 gradient bucket" \
  -- estimate --model mlp --world-size 4 --zero 1
expect 0 "DDP over 2 rank\(s\) \(rank 0\), 25 MiB buckets; the batch is the rank's" \
  -- fit --model mlp --budget 1GiB --world-size 2
expect_error 2 "--rank 2 is not a rank of a world of 2" -- estimate --world-size 2 --rank 2
expect 0 "context and libraries +900\.00 MiB  the preset's constant \+ NCCL's 300\.00 MiB" \
  -- estimate --model mlp --world-size 2 --nccl-bytes 300MiB
expect_error 2 "--nccl-bytes is NCCL's memory on a GPU" -- estimate --world-size 2 --target cpu \
  --nccl-bytes 1MiB
expect_error 2 "--zero requires --world-size" -- estimate --zero 1
expect_error 2 "ZeRO-1 with a loss scaler" -- estimate --world-size 2 --zero 1 --precision fp16
expect_error 3 "no-such.csv" -- estimate --model cnn --conv-workspace "$work/no-such.csv"
# Transformers: the published parameter counts, from the zoo and from a config.json, and where
# each fits; config errors are one line.
configs="$(dirname "$0")/../data/configs"
if ! "$tally" estimate --model gpt2-124m --batch 8 --seq-len 1024 --optimizer adamw --json |
  /usr/bin/python3 -c "import json,sys
d = json.load(sys.stdin)
assert d['parameters'] == 124439808 and d['seq_len'] == 1024, d['parameters']
fits = {v['variant']: v['fits_on'] for v in d['where_it_fits']}
assert 'h100-80gb' in fits['as asked'] and 't4-16gb' not in fits['as asked'], fits
assert 't4-16gb' in fits['--checkpoint every:1'], fits"; then
  fail "estimate --model gpt2-124m: wrong parameters or where_it_fits"
fi
expect 0 "model states after step 2: 8030261248 parameters, bf16, adamw" -- estimate \
  --model-config "$configs/llama-3-8b.json" --batch 1 --seq-len 2048 --optimizer adamw \
  --precision bf16
expect 0 "^  as asked +[0-9.]+ GiB  h200-141gb$" -- estimate \
  --model-config "$configs/llama-3-8b.json" --batch 1 --seq-len 2048 --optimizer adamw \
  --precision bf16
expect_error 2 "unsupported-type.json: model_type 'bert' is not supported" -- estimate \
  --model-config "$configs/unsupported-type.json"
expect_error 2 "missing field 'intermediate_size'" -- estimate \
  --model-config "$configs/missing-field.json"
expect_error 2 "not valid JSON" -- estimate --model-config "$configs/malformed.json"
expect_error 2 "cannot read the model config" -- estimate --model-config "$work/none.json"
expect_error 2 "--seq-len must be in \[1, 64\] for gpt-tiny, got 65" -- estimate --model gpt-tiny \
  --seq-len 65
expect_error 2 "--seq-len is for transformers; mlp takes images" -- estimate --model mlp \
  --seq-len 8
expect_error 2 "gpt-tiny reads tokens" -- train --model gpt-tiny --dataset fashion-mnist
expect_error 2 "mlp reads images" -- train --model mlp --dataset "text:$configs/gpt2.json"
expect_error 3 "none.txt: cannot read the text" -- train --model gpt-tiny \
  --dataset "text:$work/none.txt"
expect_one_line_error train --model gpt-tiny --dataset text:
expect_one_line_error estimate --model gpt-tiny --model-config "$configs/gpt2.json"
expect_one_line_error fit --model mlp
expect_one_line_error fit --model mlp --budget 1GiB --capacity 2GiB
expect_one_line_error train --device cpu --device-preset t4-16gb
expect_one_line_error train --device cpu --device-preset h100-80gb
expect_one_line_error train --device sim:cpu --conv-log "$work/log.csv"

finish estimate
