#!/usr/bin/env bash
# tally train --ddp under mpirun (label mpi): each rank's measured peaks equal, to the byte,
# tally estimate --world-size N --rank R for that rank, for 2 and 4 ranks, with and without
# ZeRO-1; each rank writes its own trace; and a rank that fails ends every rank, non-zero, well
# within the timeout.
#   ddp_test.sh TALLY_BINARY MPIEXEC
set -uo pipefail
tally="$1"
mpiexec="$2"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# shellcheck source=tests/cli/expect.sh
source "$(dirname "$0")/expect.sh"

mpirun=("$mpiexec" --allow-run-as-root --oversubscribe)
est=(--model cnn --batch 16 --steps 2 --optimizer adamw)
step=("${est[@]}" --dataset synthetic --threads 1)

for n in 2 4; do
  for zero in 0 1; do
    # Each rank's stdout in a file of its own (Open MPI's --output-filename): one JSON object each.
    rm -rf "$work/out"
    "${mpirun[@]}" --output-filename "$work/out" -np "$n" "$tally" train --ddp --zero "$zero" \
      --bucket-mb 0.5 "${step[@]}" --trace "$work/t.csv" --json >/dev/null 2>"$work/train.err" ||
      fail "mpirun -np $n train --ddp --zero $zero: $(tail -3 "$work/train.err")"
    for ((rank = 0; rank < n; rank++)); do
      [ -s "$work/t.rank$rank.csv" ] || fail "no trace for rank $rank of $n"
      "$tally" estimate --target cpu --world-size "$n" --rank "$rank" --zero "$zero" \
        --bucket-mb 0.5 "${est[@]}" --json >"$work/estimate.$rank.json" 2>"$work/estimate.err" ||
        fail "estimate --world-size $n --rank $rank: $(cat "$work/estimate.err")"
    done
    if ! /usr/bin/python3 - "$work" "$n" "$zero" <<'PY'; then
import glob, json, sys
work, n, zero = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
runs = [json.loads(open(f).read()) for f in glob.glob(f"{work}/out/*/rank.*/stdout")]
assert sorted(r["rank"] for r in runs) == list(range(n)), [r.get("rank") for r in runs]
keys = ["peak_allocated_bytes", "peak_requested_bytes", "peak_reserved_bytes"]
for run in runs:
    est = json.load(open(f"{work}/estimate.{run['rank']}.json"))
    got = {k: run[k] for k in keys}
    want = {k: est[k] for k in keys}
    assert got == want, (n, zero, run["rank"], got, want)
    assert run["world_size"] == n and run["zero"] == zero, run
    comm = run["by_tag_at_peak"]["communication"]["requested_bytes"]
    assert comm == est["parallel"]["bucket_bytes"], (comm, est["parallel"])
# Every rank reports the same loss, the average over the ranks.
assert len({r["final_loss"] for r in runs}) == 1, [r["final_loss"] for r in runs]
PY
      fail "train --ddp against estimate --world-size $n --zero $zero differs"
    fi
    rm -f "$work"/t.rank*.csv
  done
done

# Rank 1 runs out of memory in its first step while rank 0 waits for it in a collective: both
# end, non-zero, long before the 60 s timeout.
start=$(date +%s)
"${mpirun[@]}" -np 1 "$tally" train --ddp --timeout 60 "${step[@]}" : \
  -np 1 "$tally" train --ddp --timeout 60 "${step[@]}" --alloc-conf limit:2MiB \
  >"$work/fail.out" 2>&1
code=$?
elapsed=$(($(date +%s) - start))
if [ "$code" -eq 0 ] || [ "$elapsed" -ge 60 ] || ! grep -q "out of memory" "$work/fail.out"; then
  fail "a failing rank: mpirun exit $code after ${elapsed}s, output: $(head -5 "$work/fail.out")"
fi

expect_error 2 "needs --ddp|requires --ddp" -- train --zero 1 --dataset synthetic
expect_error 2 "estimate --world-size" -- train --ddp --device sim:cpu --dataset synthetic

if [ "$failures" -ne 0 ]; then
  echo "$failures failure(s)"
  exit 1
fi
echo "ddp: all checks passed"
