#!/usr/bin/env bash
# scripts/torch_snapshot_to_trace.py on snapshots built by hand in PyTorch's format, since the
# machines that run this have no GPU to record one: every row of the converted trace, the peaks
# tally replay finds in it, and one-line errors for bad input.
#   torch_snapshot_test.sh CONVERTER TALLY_BINARY
set -euo pipefail
convert="$1"
tally="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/cli/expect.sh
source "$(dirname "$0")/../cli/expect.sh"

# Device 0 is a run whose history starts mid-way (a block and a segment freed that it never saw
# allocated) with a record_stream'd block (free_requested long before free_completed), an entry
# carrying requested_size, a second stream, an oom and the markers PyTorch interleaves. Device 1
# comes from a PyTorch without time_us. The rest are malformed.
python3 - "$work" <<'EOF'
import datetime
import pickle
import sys

work = sys.argv[1]
t0 = 1_700_000_000_000_000
A, C, B = 0x7F3A00200000, 0x7F3A00400000, 0x7F3A02000000
side_stream = 94_000_000_000_000  # a cudaStream_t, as PyTorch stores it


def e(action, addr, size, t, stream=0, **extra):
    entry = {"action": action, "size": size, "stream": stream, "time_us": t0 + t, "frames": []}
    entry["device_free" if action == "oom" else "addr"] = addr
    entry.update(extra)
    return entry


device0 = [
    e("free_requested", 0x7F3A00000000, 4096, 0),
    e("free_completed", 0x7F3A00000000, 4096, 1),
    e("segment_alloc", A, 2097152, 10),
    e("alloc", A, 1000000, 11),
    e("alloc", A + 1000448, 1000000, 12),
    e("free_requested", A, 1000000, 20),
    e("segment_alloc", C, 2097152, 21),
    e("alloc", C, 1000000, 22),
    e("free_completed", A, 1000000, 30),
    e("segment_alloc", B, 20971520, 40, side_stream),
    e("alloc", B, 5242880, 41, side_stream, requested_size=5000000),
    e("oom", 1048576, 1073741824, 50),
    e("snapshot", 0, 0, 60),
    e("segment_map", 0x7F3B00000000, 2097152, 61),
    e("segment_unmap", 0x7F3B00000000, 2097152, 62),
    e("free_requested", B, 5000000, 70, side_stream),
    e("free_completed", B, 5000000, 71, side_stream),
    e("segment_free", B, 20971520, 72, side_stream),
    e("segment_free", 0x7F3900000000, 2097152, 80),
]
device1 = [
    {"action": "alloc", "addr": 0x7F4000000000, "size": 512, "stream": 7, "frames": []},
    {"action": "free_requested", "addr": 0x7F4000000000, "size": 512, "stream": 7, "frames": []},
    {"action": "free_completed", "addr": 0x7F4000000000, "size": 512, "stream": 7, "frames": []},
]
alloc = e("alloc", A, 512, 0)
snapshots = {
    "snapshot": {"segments": [], "device_traces": [device0, device1]},
    "list": [],
    "no_traces": {"segments": []},
    "empty": {"segments": [], "device_traces": [[]]},
    "unknown_action": {"segments": [], "device_traces": [[e("frobnicate", A, 512, 0)]]},
    "no_addr": {"segments": [], "device_traces": [[{"action": "alloc", "size": 512, "stream": 0}]]},
    "double_alloc": {"segments": [], "device_traces": [[alloc, alloc]]},
    "global": {"segments": [], "device_traces": [], "taken": datetime.date(2024, 1, 1)},
}
for name, data in snapshots.items():
    with open(f"{work}/{name}.pickle", "wb") as f:
        pickle.dump(data, f)
EOF

if ! "$convert" "$work/snapshot.pickle" -o "$work/trace.csv" 2>"$work/notes"; then
  fail "converting the snapshot:"
  cat "$work/notes"
fi
# A and C are 2 MiB small-pool segments, B a 20 MiB one on the side stream; the block at
# A+1000448 sits after A's 1000000 B request rounded to 512 B.
cat >"$work/expected.csv" <<'EOF'
# tally trace v1
seq,time_ns,action,device,address,requested,allocated,stream,tag,prev_tag,scope,phase
0,10000,segment_alloc,cuda:0,0x7f3a00200000,2097152,2097152,0,,,,none
1,11000,alloc,cuda:0,0x7f3a00200000,1000000,1000000,0,other,,,none
2,12000,alloc,cuda:0,0x7f3a002f4400,1000000,1000000,0,other,,,none
3,21000,segment_alloc,cuda:0,0x7f3a00400000,2097152,2097152,0,,,,none
4,22000,alloc,cuda:0,0x7f3a00400000,1000000,1000000,0,other,,,none
5,30000,free,cuda:0,0x7f3a00200000,1000000,1000000,0,other,,,none
6,40000,segment_alloc,cuda:0,0x7f3a02000000,20971520,20971520,1,,,,none
7,41000,alloc,cuda:0,0x7f3a02000000,5000000,5242880,1,other,,,none
8,50000,oom,cuda:0,0x0,1073741824,1073741824,0,other,,,none
9,71000,free,cuda:0,0x7f3a02000000,5000000,5242880,1,other,,,none
10,72000,segment_free,cuda:0,0x7f3a02000000,20971520,20971520,1,,,,none
EOF
if ! diff "$work/expected.csv" "$work/trace.csv"; then
  fail "the device 0 trace differs from the expected rows (diff above: < expected, > written)"
fi
cat >"$work/expected-notes" <<'EOF'
torch_snapshot_to_trace: skipped free_completed of blocks allocated before the history started: 1
torch_snapshot_to_trace: skipped segment_map/segment_unmap (expandable segments' page ranges, not segments): 2
torch_snapshot_to_trace: skipped segment_free of segments allocated before the history started: 1
EOF
if ! diff "$work/expected-notes" "$work/notes"; then
  fail "the skipped entries are not reported as expected on stderr"
fi

# Replayed with the requests: caching rounds the three 1000000 B requests to 1000448 B. The
# first two fill segment A, and the third cannot reuse the first because its free has not
# completed, so it takes a second 2 MiB segment (reading free_requested as the free would give
# 22 MiB). The 5000000 B request on the side stream takes a 20 MiB segment: 24 MiB reserved.
# Allocated peaks there, 2 x 1000448 + 5000192 = 7001088 B (6.68 MiB), and the requests live
# then, 2 x 1000000 + 5000000 = 7000000 B, are the lower bound: 25165824 / 7000000 = 3.595x.
# direct holds exactly what is allocated and makes 4 cudaMalloc and 4 cudaFree calls, two of
# them for the blocks the trace leaves live; caching's segments are still held at the end.
"$tally" replay "$work/trace.csv" --strategies caching,direct --json >"$work/replay" 2>&1 || true
if ! python3 - "$work/replay" <<'CHECK'; then
import json, sys
table = json.load(open(sys.argv[1]))[0]
rows = {r["config"]: r for r in table["rows"]}
want = {"caching": (25165824, 7001088, 3, 0), "direct": (7001088, 7001088, 4, 4)}
ok = table["lower_bound_bytes"] == 7000000
for name, (reserved, allocated, allocs, frees) in want.items():
    r = rows[name]
    ok &= (r["peak_reserved_bytes"], r["peak_allocated_bytes"], r["segment_allocs"],
           r["segment_frees"]) == (reserved, allocated, allocs, frees)
sys.exit(0 if ok else 1)
CHECK
  fail "tally replay's caching and direct rows differ from the hand-computed peaks:"
  cat "$work/replay"
fi

# Without time_us the order survives as time_ns = seq; stream 7 is the first seen, so 0.
"$convert" "$work/snapshot.pickle" -o "$work/device1.csv" --device 1
cat >"$work/expected1.csv" <<'EOF'
# tally trace v1
seq,time_ns,action,device,address,requested,allocated,stream,tag,prev_tag,scope,phase
0,0,alloc,cuda:1,0x7f4000000000,512,512,0,other,,,none
1,1,free,cuda:1,0x7f4000000000,512,512,0,other,,,none
EOF
if ! diff "$work/expected1.csv" "$work/device1.csv"; then
  fail "the device 1 trace differs from the expected rows"
fi

expect_convert_error() {  # expect_convert_error PATTERN ARGS...: exit 1, one line on stderr, no trace written
  local pattern="$1" status=0 lines
  shift
  rm -f "$work/out.csv"
  "$convert" "$@" -o "$work/out.csv" >/dev/null 2>"$work/err" || status=$?
  lines=$(wc -l <"$work/err")
  if [ "$status" -ne 1 ] || [ "$lines" -ne 1 ] ||
    ! grep -qE -- "^torch_snapshot_to_trace: error: .*$pattern" "$work/err" ||
    [ -e "$work/out.csv" ]; then
    fail "$* -> exit $status, $lines stderr lines (want 1 and 1 matching '$pattern', no output):"
    cat "$work/err"
  fi
}

echo "not a pickle" >"$work/text.pickle"
expect_convert_error "cannot read .*no-such\.pickle" "$work/no-such.pickle"
expect_convert_error "not a pickle" "$work/text.pickle"
expect_convert_error "not a PyTorch memory snapshot" "$work/list.pickle"
expect_convert_error "no device_traces" "$work/no_traces.pickle"
expect_convert_error "device_traces\[0\] is empty" "$work/empty.pickle"
expect_convert_error "no device 2 in device_traces" "$work/snapshot.pickle" --device 2
expect_convert_error "unknown action 'frobnicate'" "$work/unknown_action.pickle"
expect_convert_error "'addr' must be a non-negative integer" "$work/no_addr.pickle"
expect_convert_error "device_traces\[0\]\[1\]: alloc at 0x7f3a00200000, which is still allocated" \
  "$work/double_alloc.pickle"
expect_convert_error "refers to datetime\.date" "$work/global.pickle"

finish "torch snapshot"
