#!/usr/bin/env bash
# scripts/gpu_compare.py, the GPU kit's comparisons, on inputs built here with known answers: a
# comparison that holds exits 0, one that does not exits 1 and names what differs, an unreadable
# input exits 2. The traces are real ones written by tally on cpu and sim:cpu.
#   gpu_compare_test.sh GPU_COMPARE TALLY_BINARY
set -uo pipefail
compare="$1"
tally="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
failures=0
check() {  # check CODE PATTERN ARGS...: exit code and a pattern in the one line printed
  local code="$1" pattern="$2" out actual
  shift 2
  out="$(python3 "$compare" "$@" 2>&1)"
  actual=$?
  if [ "$actual" -ne "$code" ] || ! grep -qE -- "$pattern" <<<"$out"; then
    echo "FAIL: gpu_compare.py $* -> exit $actual (want $code, /$pattern/): $out"
    failures=$((failures + 1))
  fi
}

# Two training summaries: equal, within the tolerance (1e-3), and beyond it.
run() {  # run FILE LOSS NORM [PRECISION]
  printf '{"device": "x", "final_loss": %s, "test_accuracy": 0.5, "%s": 1048576, "%s": %s%s}\n' \
    "$2" peak_allocated_bytes parameter_norms "{\"fc.weight\": $3, \"fc.bias\": 1.0}" \
    "${4:+, \"precision\": \"$4\"}" >"$work/$1"
}
run a.json 0.5 2.0
run b.json 0.5 2.0
run c.json 0.5002 2.0
run d.json 0.5 2.01
run e.json null 2.0
check 0 "^ok: loss 0.500000 vs 0.500000 \(rel 0.0e\+00\), params max rel 0.0e\+00" train \
  "$work/a.json" "$work/b.json"
check 0 "^ok: .*\(rel 4.0e-04\)" train "$work/a.json" "$work/c.json"
check 1 "^DIFFERS: .*params max rel 5.0e-03 \(fc.weight\)" train "$work/a.json" "$work/d.json"
check 1 "^DIFFERS" train "$work/a.json" "$work/e.json"
echo '{"device": "x", "final_loss": 0.5}' >"$work/no-norms.json"
check 1 "parameter_norms missing" train "$work/a.json" "$work/no-norms.json"
check 2 "^unreadable: .*missing.json" train "$work/a.json" "$work/missing.json"
# 16-bit runs: 5e-3 apart is within f16's 16 * 2^-11 (7.8e-3), 5e-2 within bf16's 16 * 2^-8
# (6.2e-2) and not f16's; runs in different precisions are not compared.
run f16-a.json 0.5 2.0 fp16
run f16-b.json 0.5 2.01 fp16
run f16-c.json 0.5 2.1 fp16
run amp-f16.json 0.5 2.0 amp-fp16
run bf16-a.json 0.5 2.0 amp-bf16
run bf16-b.json 0.5 2.1 amp-bf16
check 0 "^ok: .*params max rel 5.0e-03 \(fc.weight\), tolerance 7.8e-03" train \
  "$work/f16-a.json" "$work/f16-b.json"
check 0 "^ok: .*tolerance 6.2e-02" train "$work/bf16-a.json" "$work/bf16-b.json"
check 1 "^DIFFERS: .*params max rel 4.8e-02" train "$work/f16-c.json" "$work/f16-a.json"
check 1 "precision fp16 vs amp-fp16" train "$work/f16-a.json" "$work/amp-f16.json"

# Traces: cpu against sim:cpu is exact; a changed size, a dropped event and a non-trace are not.
args=(train --model mlp --steps 1 --batch 8 --dataset synthetic --json)
"$tally" "${args[@]}" --device cpu --trace "$work/cpu.csv" >/dev/null 2>&1 &&
  "$tally" "${args[@]}" --device sim:cpu --trace "$work/sim.csv" >/dev/null 2>&1 ||
  { echo "FAIL: tally train did not write the traces" && exit 1; }
events=$(($(wc -l <"$work/cpu.csv") - 2))
check 0 "^EXACT: $events events" traces "$work/cpu.csv" "$work/sim.csv"
awk -F, -v OFS=, 'NR == 5 { $6 += 512 } { print }' "$work/sim.csv" >"$work/bigger.csv"
check 1 "^DIFFERS at event 2 \([a-z_]+\): requested" traces "$work/cpu.csv" "$work/bigger.csv"
head -n -1 "$work/sim.csv" >"$work/short.csv"
check 1 "^DIFFERS in length: $events vs $((events - 1)) events" traces "$work/cpu.csv" \
  "$work/short.csv"
echo "not a trace" >"$work/bad.csv"
check 2 "^unreadable: .*not a tally trace" traces "$work/cpu.csv" "$work/bad.csv"

# Device memory outside tally, and its absence.
echo '{"device_memory": {"driver_used_bytes": 1073741824, "tally_reserved_bytes": 268435456,
  "outside_tally_bytes": 805306368}}' | tr -d '\n' >"$work/cuda.json"
check 0 "^768 MiB outside tally after the run \(driver used 1024 MiB, tally reserved 256 MiB\)" \
  outside "$work/cuda.json"
check 1 "no device_memory" outside "$work/a.json"
check 2 "^usage|gpu_compare" nonsense

if [ "$failures" -ne 0 ]; then
  echo "$failures gpu_compare checks failed"
  exit 1
fi
echo "all gpu_compare checks passed"
