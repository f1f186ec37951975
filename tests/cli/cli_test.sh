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
expect 0 "strategies: caching, expandable, direct, buddy, binning, arena" -- info
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
expect_one_line_error info --device cpu
expect_one_line_error info --device cuda:nan

# Every numeric flag of train refuses nan, inf, -inf and values out of its range, in one line
# naming the flag and the range (estimate's and fit's: estimate_test.sh).
expect_refused --epochs "$not_a_whole_number [1, 1000]" 0 1001 1.5 -- train
expect_refused --steps "$not_a_whole_number [1, 100000000]" 0 100000001 -- train
expect_refused --batch "$not_a_whole_number [1, 16777216]" 0 -1 16777217 1e3 -- train
expect_refused --lr "$not_a_number (0, 1000]" 0 -0.1 1001 1e39 abc -- train
expect_refused --momentum "$not_a_number [0, 1)" 1 -0.1 -- train
expect_refused --weight-decay "$not_a_number [0, 1]" -0.1 1.5 -- train
expect_refused --seed "$not_a_whole_number [0, 18446744073709551615]" -1 18446744073709551616 -- \
  train
expect_refused --threads "$not_a_whole_number [1, 1024]" 0 1025 -- train
expect_refused --capacity "$not_a_size" 0 -1GiB 18446744073709551616 16777216TiB 12XB -- \
  train --device sim
for value in nan inf -inf 0 -1 18446744073709551616 16777216TiB; do
  expect_error 2 "^tally: error: --alloc-conf: bad value '$value' for key 'limit' \(expected a " \
    -- train --alloc-conf "limit:$value"
  TALLY_ALLOC_CONF="limit:$value" expect_error 2 \
    "^tally: error: TALLY_ALLOC_CONF: bad value '$value' for key 'limit'" -- train
done
for value in nan inf -inf -1 20 18446744073709551616; do
  expect_error 2 "--alloc-conf: bad value '$value' for key 'max_split_size_mb' \(expected a whole \
number of MiB above 20\)" -- train --alloc-conf "max_split_size_mb:$value"
done
# Without --lr, the optimizer's own default; with it, that value.
expect 0 "sgd lr 0\.1," -- train --steps 1 --batch 16 --dataset synthetic
expect 0 "adamw lr 0\.001," -- train --steps 1 --batch 16 --dataset synthetic --optimizer adamw
expect 0 "sgd lr 0\.05," -- train --steps 1 --batch 16 --dataset synthetic --lr 0.05

# Each kind of error has its exit status (tally::exit_status): usage 2 (above), data 3, out of
# memory 4 (below, with its trace), device 5 where a CUDA build finds no GPU. Internal errors (70)
# are bugs, which no command line reaches: tests/allocator/error_test.cpp checks their status.
expect_error 3 "^tally: error: --data-dir: cannot read '.*no-such-dir': no such file" -- \
  train --steps 1 --data-dir "$work/no-such-dir"
expect_error 2 "^tally: error: --data-dir names a directory of Fashion-MNIST files; --dataset \
synthetic reads none$" -- train --steps 1 --dataset synthetic --data-dir "$work"
mkdir -p "$work/empty-dir"
expect_error 3 "Fashion-MNIST training images not found" -- train --steps 1 --data-dir "$work/empty-dir"
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
expect_error 3 "^tally: error: trace: cannot read '.*no-such-trace.csv': no such file" -- \
  replay "$work/no-such-trace.csv"
# A missing input is a data error only once the command line is right: usage errors come first.
expect_error 2 "bogus" -- replay "$work/no-such-trace.csv" --strategies bogus
echo "not a trace" >"$work/bad.csv"
expect_error 3 "bad.csv:1: not a tally trace" -- replay "$work/bad.csv"
printf 'Thread,Time,Action,Pointer,Size,Stream\n1,1.5,allocate,0x1000,4096,0x0\n1,1.6,deallocate,0x1000,4096,0x0\n' >"$work/rmm.csv"
expect 0 "^direct +4.00 KiB +4.00 KiB +1.000x +1.000x +1\+1 " -- replay "$work/rmm.csv"
# One cudaMalloc and one cudaFree at the costs given: 1 + 2 us.
expect 0 "^direct .* 0.003$" -- replay "$work/rmm.csv" --strategies direct --segment-cost 1,2
configs="caching; caching, max_split_size_mb:64 ;direct;planner"
expect 0 "^caching,max_split_size_mb:64 +[0-9.]+ [KM]iB" -- replay "$work/trace.csv" --configs "$configs"
expect 0 "^planner +[0-9.]+ [KM]iB .* 1.000x +1\+0 +- +- +- +- " -- replay "$work/trace.csv" --configs "$configs"
expect 0 "assumed, not measured here: cudaMalloc 50.0 us" -- replay "$work/rmm.csv"
tables=$("$tally" replay "$work/rmm.csv" "$work/trace.csv" 2>&1 | grep -c "^replay of ")
[ "$tables" = 2 ] || fail "replay of two traces prints $tables tables, not 2"
json="$("$tally" replay "$work/rmm.csv" "$work/trace.csv" --configs "$configs" --json 2>/dev/null)"
if ! /usr/bin/python3 -c "
import json, sys
d = json.loads(sys.argv[1])
assert [t['trace'] for t in d] == sys.argv[2:], d
assert d[0]['lower_bound_bytes'] == 4096 and d[0]['planner_bytes'] == 4096, d[0]
for t in d:
    assert [r['config'] for r in t['rows']] == ['caching', 'caching,max_split_size_mb:64', 'direct', 'planner']
    for r in t['rows']:
        assert r['peak_reserved_bytes'] >= t['lower_bound_bytes'] and 'device_cost_us' in r, r
        assert ('alloc_p99_ns' in r) == (r['config'] != 'planner'), r
" "$json" "$work/rmm.csv" "$work/trace.csv"; then
  fail "replay --json is not one object per trace with the figures of each configuration: $json"
fi
expect_error 2 "configuration 'caching,max_split_size_mb:8': bad value '8'" -- \
  replay "$work/no-such-trace.csv" --configs "caching; caching,max_split_size_mb:8"
expect_error 2 "configuration 'caching,record:on': key 'record'" -- \
  replay "$work/rmm.csv" --configs "caching,record:on"
expect_one_line_error replay "$work/rmm.csv" --configs caching --strategies direct
expect_one_line_error replay "$work/rmm.csv" --segment-cost 1
expect_one_line_error replay "$work/rmm.csv" --page-cost 1,-2
json="$("$tally" train --steps 2 --batch 16 --json 2>/dev/null)"
for key in test_accuracy peak_allocated_bytes peak_reserved_bytes peak_requested_bytes by_tag_at_peak steps samples_per_s; do
  if ! /usr/bin/python3 -c "import json,sys; d=json.loads(sys.argv[1]); assert '$key' in d" "$json" 2>/dev/null; then
    fail "train --json lacks $key or is not one JSON object: $json"
  fi
done
expect_error 4 "out of memory on cpu: asked" -- train --steps 2 --alloc-conf limit:4MiB \
  --trace "$work/oom.csv"
if ! grep -q ",oom," "$work/oom.csv"; then
  fail "a run that runs out of memory does not write its trace up to the oom event"
fi
TALLY_ALLOC_CONF=strategy:direct expect 0 "direct allocator" -- train --steps 2 --batch 8

finish cli
