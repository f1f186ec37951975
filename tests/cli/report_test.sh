#!/usr/bin/env bash
# `tally report`: the text breakdown, a self-contained HTML page whose embedded data agrees with
# the trace, a Perfetto trace that parses and holds the counters, and one-line errors.
#   report_test.sh TALLY_BINARY
set -uo pipefail
tally="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/cli/expect.sh
source "$(dirname "$0")/expect.sh"

python_check() {  # python_check WHAT FILE SCRIPT: SCRIPT reads the file as sys.argv[1]
  local what="$1" file="$2" script="$3" out
  if ! out=$(/usr/bin/python3 -c "$script" "$file" 2>&1); then
    fail "$what: $out"
  fi
}

if ! "$tally" train --model mlp --steps 2 --batch 16 --dataset synthetic --optimizer adamw \
  --trace "$work/t.csv" >"$work/train" 2>/dev/null; then
  echo "FAIL: could not record a trace to report on"
  exit 1
fi

if ! "$tally" report "$work/t.csv" -o "$work/r.html" >"$work/text" 2>&1; then
  fail "report to HTML exited non-zero:"
  cat "$work/text"
fi
for pattern in "^report of .*t\.csv \([0-9]+ events on cpu\)" "peak allocated +[0-9.]+ [KM]iB" \
  "peak reserved" "peak requested" "peak reached during [a-z]+ in .* \(trace event [0-9]+\)" \
  "by tag at peak" "^    parameter " "top modules at peak" "largest blocks at peak" \
  "^wrote .*r\.html \([0-9.]+ [KM]iB, self-contained HTML"; do
  grep -qE -- "$pattern" "$work/text" || fail "the text breakdown lacks /$pattern/"
done
# A trace train wrote reports what train printed: the training steps' peaks, the evaluation's
# apart. The report adds the largest blocks at the peak, left out here.
run_peaks() {  # run_peaks FILE
  grep -vE "^  largest blocks at peak|^    event [0-9]+ " "$1" |
    sed -n "/^memory of the training steps$/,/^  (what training left/p" | cat -s
}
grep -q "^evaluation$" "$work/text" || fail "the report of train's trace has no evaluation"
if ! diff <(run_peaks "$work/train") <(run_peaks "$work/text") >"$work/diff"; then
  fail "the report's peaks differ from train's:"
  cat "$work/diff"
fi

html="$work/r.html"
[ -s "$html" ] || fail "no HTML written"
if grep -qiE "https?://" "$html"; then fail "the HTML references the network"; fi
if grep -qiE "<(script|img|link|iframe|object|embed|use)[^>]* (src|href|xlink:href)=" "$html"; then
  fail "the HTML loads an external resource"
fi
grep -q '<svg id="timeline"' "$html" || fail "the HTML has no timeline <svg>"
grep -q '<svg id="segments"' "$html" || fail "the HTML has no segment map <svg>"
grep -q "peak-marker" "$html" || fail "the HTML never draws the peak marker"
grep -q "Largest blocks live at the peak" "$html" || fail "the HTML lacks the top allocations table"
python_check "the HTML's data" "$html" '
import json, re, sys
page = open(sys.argv[1]).read()
island = re.search(r"<script type=\"application/json\" id=\"tally-data\">(.*?)</script>", page,
                   re.S)
d = json.loads(island.group(1))
for tag in ("parameter", "gradient", "activation"):
    assert tag in d["tags"], ("tag missing", tag, d["tags"])
assert 0 < len(d["points"]) <= 2000, len(d["points"])
peak = d["peak"]
totals = [sum(p[3:]) for p in d["points"]]
assert max(totals) == peak["allocated"], (max(totals), peak)
assert d["points"][totals.index(max(totals))][0] == peak["index"], "the peak point moved"
assert all(p[2] >= sum(p[3:]) for p in d["points"]), "reserved below allocated"
phases = {p[0] for p in d["phases"]}
assert {"forward", "backward", "optimizer"} <= phases, phases
assert d["segments"] and d["blocks"], "empty segment map"
for si, offset, size, tag, scope in d["blocks"]:
    assert offset + size <= d["segments"][si][1], "a block outside its segment"
assert sum(b[2] for b in d["blocks"]) == peak["allocated"], "segment map misses blocks"
'

if ! "$tally" report "$work/t.csv" -o "$work/p.json" --format perfetto >"$work/text" 2>&1; then
  fail "report to Perfetto exited non-zero:"
  cat "$work/text"
fi
grep -qE "Chrome trace JSON" "$work/text" || fail "the Perfetto run does not say what it wrote"
python_check "the Perfetto trace" "$work/p.json" '
import json, sys
t = json.load(open(sys.argv[1]))
assert t["displayTimeUnit"] == "ns"
ev = t["traceEvents"]
counters = {e["name"] for e in ev if e["ph"] == "C"}
for name in ("allocated: parameter", "allocated: gradient", "allocated: activation",
             "allocated: total", "reserved"):
    assert name in counters, (name, counters)
assert all(isinstance(e["ts"], (int, float)) and isinstance(e["args"]["bytes"], int)
           for e in ev if e["ph"] == "C")
slices = {e["name"] for e in ev if e["ph"] == "X"}
assert {"forward", "backward", "optimizer"} <= slices, slices
peaks = [e for e in ev if e["ph"] == "i" and e["name"] == "peak allocated"]
total = max(e["args"]["bytes"] for e in ev if e["ph"] == "C" and e["name"] == "allocated: total")
assert len(peaks) == 1 and peaks[0]["args"]["allocated_bytes"] == total, (peaks, total)
'
"$tally" report "$work/t.csv" -o "$work/inferred.json" >/dev/null 2>&1
python_check "a .json output without --format" "$work/inferred.json" '
import json, sys
assert "traceEvents" in json.load(open(sys.argv[1]))
'

# Scope names are data: they must not break out of the page's script or markup.
cat >"$work/hostile.csv" <<'CSV'
# tally trace v1
seq,time_ns,action,device,address,requested,allocated,stream,tag,prev_tag,scope,phase
0,10,segment_alloc,sim,0x1000,4096,4096,0,,,</script><b>x,none
1,20,alloc,sim,0x1000,1000,1024,0,activation,,</script><b>x,forward
2,30,retag,sim,0x1000,1000,1024,0,gradient,activation,</script><b>x,backward
3,40,free,sim,0x1000,1000,1024,0,gradient,,,backward
4,50,segment_free,sim,0x1000,4096,4096,0,,,,none
CSV
if ! "$tally" report "$work/hostile.csv" -o "$work/hostile.html" >/dev/null 2>"$work/err"; then
  fail "report of a hand-written trace failed: $(cat "$work/err")"
fi
if grep -q "</script><b>" "$work/hostile.html"; then fail "a scope name escaped into the markup"; fi
python_check "the hostile trace's data" "$work/hostile.html" '
import json, re, sys
page = open(sys.argv[1]).read()
d = json.loads(re.search(r"id=\"tally-data\">(.*?)</script>", page, re.S).group(1))
assert d["scopes"] == ["</script><b>x"] and d["peak"]["allocated"] == 1024, d
'

# Worked by hand: the allocated peak (event 1, 4096 B, with 8192 B reserved then), the requested
# peak (event 3, 3000 B) and the reserved peak (events 5 to 7, in evaluation, 24576 B) are three
# different moments.
cat >"$work/moments.csv" <<'CSV'
# tally trace v1
seq,time_ns,action,device,address,requested,allocated,stream,tag,prev_tag,scope,phase
0,10,segment_alloc,cpu,0x10000,8192,8192,0,,,,none
1,20,alloc,cpu,0x10000,1000,4096,0,activation,,fc,forward
2,30,free,cpu,0x10000,1000,4096,0,activation,,fc,backward
3,40,alloc,cpu,0x10000,3000,3072,0,temporary,,fc,backward
4,50,free,cpu,0x10000,3000,3072,0,temporary,,fc,backward
5,60,segment_alloc,cpu,0x20000,16384,16384,0,,,,eval
6,70,alloc,cpu,0x20000,2000,2048,0,temporary,,fc,eval
7,80,free,cpu,0x20000,2000,2048,0,temporary,,fc,eval
8,90,segment_free,cpu,0x20000,16384,16384,0,,,,eval
9,100,segment_free,cpu,0x10000,8192,8192,0,,,,none
CSV
if ! "$tally" report "$work/moments.csv" -o "$work/moments.html" >"$work/text" 2>&1; then
  fail "report of a hand-written trace failed: $(cat "$work/text")"
fi
# The text takes the training steps (events 0 to 4) and the evaluation (5 to 8) apart.
for pattern in "^memory of the training steps$" "peak allocated +4.00 KiB" \
  "peak reserved +8.00 KiB" "peak requested +2.93 KiB" \
  "peak reached during forward in fc \(trace event 1\)" "^evaluation$" \
  "peak allocated +2.00 KiB" "peak reserved +24.00 KiB" "peak requested +1.95 KiB" \
  "peak reached in fc \(trace event 6\)"; do
  grep -qE -- "$pattern" "$work/text" || fail "the hand-written trace's breakdown lacks /$pattern/"
done
# The page covers the whole trace, evaluation included: each maximum at its own moment.
for row in "<th>peak allocated</th><td class=\"num\">4.00 KiB</td>" \
  "<th>peak reserved</th><td class=\"num\">24.00 KiB</td>" \
  "<th>peak requested</th><td class=\"num\">2.93 KiB</td>" \
  "(trace event 1, 0.000 ms), with 8.00 KiB reserved"; do
  grep -qF -- "$row" "$work/moments.html" || fail "the page's summary lacks '$row'"
done

printf '%s\n' "Thread,Time,Action,Pointer,Size,Stream" "1,1.5,allocate,0x1000,4096,0x0" \
  "1,1.6,deallocate,0x1000,4096,0x0" >"$work/rmm.csv"
if ! "$tally" report "$work/rmm.csv" -o "$work/rmm.html" >"$work/text" 2>&1 ||
  ! grep -qE "peak allocated +4.00 KiB" "$work/text" || ! grep -q "^memory$" "$work/text" ||
  grep -q "^evaluation" "$work/text"; then
  fail "report of an RMM log:"
  cat "$work/text"
fi

expect_error 3 "no-such-trace.csv" -- report "$work/no-such-trace.csv" -o "$work/x.html"
expect_error 2 "output" -- report "$work/t.csv"
expect_error 2 "format" -- report "$work/t.csv" -o "$work/x.pdf" --format pdf
expect_error 2 "no device 'tpu' \(it has: cpu\)" -- \
  report "$work/t.csv" -o "$work/x.html" --device tpu
echo "not a trace" >"$work/bad.csv"
expect_error 3 "bad.csv:1: not a tally trace" -- report "$work/bad.csv" -o "$work/x.html"
head -5 "$work/t.csv" >"$work/cut.csv"
echo "5,99,alloc,cpu,0x10" >>"$work/cut.csv"
expect_error 3 "cut.csv:6: " -- report "$work/cut.csv" -o "$work/x.html"
expect_error 3 "cannot write report" -- report "$work/t.csv" -o "$work/no-such-dir/r.html"
if [ -e "$work/x.html" ]; then fail "a failed report left a file behind"; fi

finish report
