#!/usr/bin/env bash
# The tally command's contract: help and info work, usage errors are one line with exit 2,
# and training writes a report, a JSON summary and a trace that reads back.
#   cli_test.sh TALLY_BINARY
set -uo pipefail
tally="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/cli/expect.sh
source "$(dirname "$0")/expect.sh"

expect 0 "Subcommands:" -- --help
expect 0 "Train a model" -- train --help
expect 0 "^tally [0-9]+\.[0-9]+\.[0-9]+" -- info
expect 0 "cuda: (none \(.+\)|cuda:0: )" -- info
expect 0 "strategies: caching, direct" -- info
expect 0 "sim presets: t4-16gb, .*h200-141gb \(default h100-80gb\)" -- info
expect_one_line_error
expect_one_line_error frobnicate
expect_one_line_error --frobnicate
expect_one_line_error train --frobnicate
expect_one_line_error train --steps 0
expect_one_line_error train --model resnet
expect_one_line_error train --device tpu
expect_one_line_error train --optimizer lion
expect_one_line_error train --steps 2 --epochs 1
expect_one_line_error train --alloc-conf colour:red
expect_one_line_error train --alloc-conf limit:lots
expect_error 3 "no-such-dir" -- train --steps 1 --data-dir "$work/no-such-dir"
expect_one_line_error info --device cpu
# No GPU here: asking for one says why, in a line; a usage error (2) when tally was built without
# CUDA, a device error (5) when it was built with it.
if ! "$tally" info | grep -q "cuda:0: "; then
  no_gpu=5
  "$tally" info | grep -q "build: cuda off" && no_gpu=2
  expect_error "$no_gpu" "cuda:0 unavailable" -- info --device cuda
  expect_error "$no_gpu" "cuda:0 unavailable" -- train --steps 1 --device cuda --dataset synthetic
fi
expect 0 "on synthetic" -- train --steps 2 --batch 16 --dataset synthetic

expect 0 "by tag at peak" -- train --steps 3 --batch 32 --trace "$work/trace.csv"
if ! head -1 "$work/trace.csv" | grep -q "^# tally trace v1$"; then
  fail "the train trace does not start with the version line"
fi
if [ "$(grep -c ",alloc," "$work/trace.csv")" -ne "$(grep -c ",free," "$work/trace.csv")" ]; then
  fail "the train trace does not free every block it allocates"
fi
if [ "$(grep -c ",segment_alloc," "$work/trace.csv")" -ne "$(grep -c ",segment_free," "$work/trace.csv")" ]; then
  fail "the train trace does not return every segment it takes"
fi
expect 0 "^caching +[0-9.]+ [KM]iB" -- replay "$work/trace.csv"
expect 0 "^direct +[0-9.]+ [KM]iB" -- replay "$work/trace.csv" --strategies direct
expect_one_line_error replay "$work/trace.csv" --strategies caching,bogus
expect_one_line_error replay "$work/no-such-trace.csv"
echo "not a trace" >"$work/bad.csv"
expect 3 "bad.csv:1: not a tally trace" -- replay "$work/bad.csv"
printf 'Thread,Time,Action,Pointer,Size,Stream\n1,1.5,allocate,0x1000,4096,0x0\n1,1.6,deallocate,0x1000,4096,0x0\n' >"$work/rmm.csv"
expect 0 "^direct +4.00 KiB +4.00 KiB +4.00 KiB +1.000x +2 " -- replay "$work/rmm.csv"
json="$("$tally" train --steps 2 --batch 16 --json 2>/dev/null)"
for key in test_accuracy peak_allocated_bytes peak_reserved_bytes peak_requested_bytes by_tag_at_peak steps samples_per_s; do
  if ! /usr/bin/python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert '$key' in d" "$json" 2>/dev/null; then
    fail "train --json lacks $key or is not one JSON object: $json"
  fi
done
expect 4 "out of memory on cpu: asked" -- train --steps 2 --alloc-conf limit:4MiB --trace "$work/oom.csv"
if ! grep -q ",oom," "$work/oom.csv"; then
  fail "a run that runs out of memory does not write its trace up to the oom event"
fi
TALLY_ALLOC_CONF=strategy:direct expect 0 "direct allocator" -- train --steps 2 --batch 8

finish cli
