#!/usr/bin/env bash
# The GPU kit (docs/gpu.md): every check of tally's CUDA backend in one call, for a GPU machine
# with no internet and little time. It runs, in this order: tally info --device cuda; every test
# labelled gpu; the op table's max relative error per op and dtype; train on cuda against cpu for
# mlp and cnn, for mlp in each 16-bit precision arrangement and under DDP with ZeRO-1 (loss and
# parameters), and for gpt-tiny and llama-tiny; sim:cuda against cuda, trace for trace, with the
# cuDNN choices the cuda run recorded; GPT-2 small's peaks against its estimate and PyTorch's;
# the memory outside tally's allocator after a run; GEMM against bare cuBLAS and
# elementwise bandwidth against a device copy; an NCCL all-reduce at world size 1 with its
# communicator's memory; a training step against PyTorch; the precision table; deep-mlp's
# checkpoint table.
# It ends with one summary table, also written as markdown (summary.md) beside the full logs.
#
#   scripts/gpu_check.sh [--rehearse] [--prebuilt DIR] [--build DIR] [--deps DIR] [LOG_DIR]
#
#   --rehearse      on a machine without a GPU: build the pack (scripts/gpu_prepare.sh prebuilt),
#                   then run every step that can run without one (the pack's binaries, the gpu
#                   tests' skips, the cpu halves and their comparisons, cpu against sim:cpu for
#                   the trace check) and skip the rest, saying why; exits 0 when all of that works
#   --prebuilt DIR  the pack built here (DIR/prebuilt.tar.gz, default build-gpu): carry it
#   --build DIR     where to build from source when there is no pack (default build-check)
#   --deps DIR      .deb files (scripts/gpu_prepare.sh debs) for building from source (default .deps)
#
# LOG_DIR defaults to $OUT, else /tmp/tally-gpu-check: nine files, all of which come back from a
# device run. Every step runs under a deadline (GPU_CHECK_BUDGET seconds, default 270) so that
# the summary is always printed. Exit status: 0 when every check that ran passed, 1 otherwise, 2
# when there is no GPU (and no --rehearse).
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

prebuilt="build-gpu"
build="build-check"
deps=.deps
rehearse=0
logs="${OUT:-/tmp/tally-gpu-check}"
while (($#)); do
  case "$1" in
    --prebuilt | --build | --deps)
      [ $# -ge 2 ] || { echo "gpu_check: $1 needs a directory" >&2 && exit 2; }
      case "$1" in
        --prebuilt) prebuilt="$2" ;;
        --build) build="$2" ;;
        --deps) deps="$2" ;;
      esac
      shift 2
      ;;
    --rehearse) rehearse=1 && shift ;;
    -h | --help)
      awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
      exit 0
      ;;
    -*) echo "gpu_check: unknown option $1 (see --help)" >&2 && exit 2 ;;
    *) logs="$1" && shift ;;
  esac
done
mkdir -p "$logs"
: >"$logs/gpu_check.txt"
: >"$logs/build.log"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

say() { printf '%s\n' "$*" | tee -a "$logs/gpu_check.txt"; }
rows=()
status=0
# row LABEL VERDICT TEXT: one line of the summary; VERDICT is ok, FAIL, skip or info.
row() {  # row CHECK VERDICT RESULT: exactly three arguments, so that no part of one is lost
  [ $# -eq 3 ] || { echo "gpu_check: row takes 3 arguments, got $#: $*" >&2; exit 70; }
  rows+=("$1|$2|$3")
  [ "$2" = FAIL ] && status=1
  return 0
}

left() { echo $((deadline - SECONDS)); }
# step NEED LIMIT CMD...: runs CMD under the smaller of LIMIT and the time left, or returns 124
# at once when less than NEED seconds are left.
step() {
  local need="$1" limit="$2" t
  shift 2
  t="$(left)"
  if ((t < need)); then
    echo "skipped: ${t}s left of the budget" >&2
    return 124
  fi
  ((t < limit)) || t="$limit"
  timeout --kill-after=10 "$t" "$@"
}

# shellcheck source=scripts/gpu_machine.sh
source scripts/gpu_machine.sh
survey_machine
no_gpu="no GPU here (rehearsal)"
if ((rehearse)); then
  gpu=""
  say ""
  say "-- rehearsal: building the pack ($prebuilt/prebuilt.tar.gz), as for a GPU machine"
  if ! scripts/gpu_prepare.sh prebuilt "$prebuilt" >"$logs/build.log" 2>&1; then
    tail -20 "$logs/build.log" | tee -a "$logs/gpu_check.txt"
    say "gpu_check: the pack did not build (build.log)"
    exit 1
  fi
  say "$(tail -1 "$logs/build.log")"
elif [ -z "$gpu" ]; then
  say "gpu_check: no NVIDIA GPU here (nvidia-smi ${smi:-not found}${smi:+ lists none}):" \
    "nothing to check; --rehearse runs what can run without one"
  exit 2
fi
deadline=$((SECONDS + ${GPU_CHECK_BUDGET:-270}))

# ---------------------------------------------------------------- the binaries
say ""
if [ -f "$prebuilt/prebuilt.tar.gz" ]; then
  bin="$prebuilt/dist/bin"
  rm -rf "$prebuilt/dist" && mkdir -p "$prebuilt/dist"
  if tar -xzvf "$prebuilt/prebuilt.tar.gz" -C "$prebuilt/dist" >>"$logs/build.log" 2>&1; then
    add_ld "$prebuilt/dist/lib"
    in_tally_env ldd "$bin/tally" >>"$logs/build.log" 2>&1
    built_for="$(in_tally_env "$bin/tally" info 2>&1 | sed -n 's/.*architectures \([^)]*\)).*/\1/p')"
    size="$(du -h "$prebuilt/prebuilt.tar.gz" | cut -f1)"
    row build ok "pack of commit $(cat "$bin/commit.txt" 2>/dev/null || echo '?'), built for \
${built_for:-?} ($size carried)"
    [ -z "$gpu" ] || [[ ";$built_for;" == *";$arch"[-\;]* ]] ||
      say "warning: the pack was built for '${built_for:-?}', the GPU is sm_$arch"
  else
    row build FAIL "could not unpack $prebuilt/prebuilt.tar.gz"
  fi
else
  bin="$build/bin"
  build_from_source "$build" "$deps" >>"$logs/build.log" 2>&1
  if [ -x "$bin/tally" ]; then
    row build ok "from source in $build ($(tail -1 "$logs/build.log"))"
  else
    grep -m 12 -E 'error|^FAILED: ' "$logs/build.log" | cut -c1-200 | tee -a "$logs/gpu_check.txt"
    row build FAIL "$(tail -1 "$logs/build.log") (build.log)"
  fi
fi

print_summary() {
  local line label verdict text
  {
    echo "# tally GPU check: ${gpu:-no GPU}"
    echo
    echo "- date: $(date -u '+%Y-%m-%d %H:%M UTC'); commit: $(cat "$bin/commit.txt" 2>/dev/null ||
      git rev-parse --short HEAD 2>/dev/null || echo unknown)"
    echo "- machine: $machine_line"
    echo "- mode: $( ((rehearse)) && echo "rehearsal, no GPU" || echo "GPU run"); $((SECONDS)) s"
    echo
    echo "| check | verdict | result |"
    echo "|---|---|---|"
    for line in "${rows[@]}"; do
      IFS='|' read -r label verdict text <<<"$line"
      echo "| $label | $verdict | ${text//|/\\|} |"
    done
  } >"$logs/summary.md"
  say ""
  say "== summary: ${gpu:-no GPU}; ${SECONDS}s; logs in $logs"
  for line in "${rows[@]}"; do
    IFS='|' read -r label verdict text <<<"$line"
    say "$(printf '%-34s %-5s %s' "$label" "$verdict" "$text")"
  done
}
if [ ! -x "$bin/tally" ]; then
  print_summary
  exit 1
fi

# ---------------------------------------------------------------- 1. tally info --device cuda
run_log="$logs/run.log"
say "-- tally info ($(left)s left)"
{
  echo "=== tally info"
  in_tally_env step 5 30 "$bin/tally" info
  echo "=== tally info --device cuda"
  in_tally_env step 5 60 "$bin/tally" info --device cuda
} >"$run_log" 2>&1
if [ -n "$gpu" ]; then
  overhead="$(sed -nE 's/^  (CUDA context|kernels, cuBLAS and cuDNN|tally reserved)[a-z ]* +([0-9.]+ [KMG]iB).*/\1 \2/p' \
    "$run_log" | paste -sd ';' | sed 's/;/; /g')"
  if [ -n "$overhead" ]; then row "tally info --device cuda" ok "$overhead"; else
    row "tally info --device cuda" FAIL "$(tail -1 "$run_log" | cut -c1-100) (run.log)"
  fi
else
  row "tally info --device cuda" skip "$no_gpu: $(tail -1 "$run_log" | cut -c1-90)"
fi

# ---------------------------------------------------------------- 2. the tests labelled gpu
say "-- tests labelled gpu ($(left)s left)"
tests_log="$logs/tests.log"
: >"$tests_log"
if [ "$bin" = "$build/bin" ]; then
  mapfile -t gpu_tests < <(ctest --test-dir "$build" -N -V -L gpu |
    sed -n 's/.*Test command: \([^ ]*\).*/\1/p' | xargs -r -n1 basename | sort -u)
else
  mapfile -t gpu_tests <"$bin/gpu-tests.txt"
fi
passed=0 failed=0 skipped=0 failed_tests=""
for t in "${gpu_tests[@]}"; do
  echo "=== $t" >>"$tests_log"
  in_tally_env step 10 120 "$bin/$t" >"$tmp/test.log" 2>&1
  rc=$?
  cat "$tmp/test.log" >>"$tests_log"
  p="$(sed -n 's/^\[  PASSED  \] \([0-9]*\) test.*/\1/p' "$tmp/test.log")"
  s="$(sed -n 's/^\[  SKIPPED \] \([0-9]*\) test.*/\1/p' "$tmp/test.log")"
  f="$(sed -n 's/^ *\([0-9]*\) FAILED TESTS\{0,1\}$/\1/p' "$tmp/test.log")"
  ((rc == 0 || ${f:-0} > 0)) || f=$((${f:-0} + 1))  # a crash or timeout counts as a failure
  passed=$((passed + ${p:-0})) skipped=$((skipped + ${s:-0})) failed=$((failed + ${f:-0}))
  ((${f:-0} == 0)) || failed_tests+=" $t"
done
why="$(grep -m1 -o 'no CUDA device: .*' "$tests_log")"
verdict=ok
((failed == 0)) || verdict=FAIL
[ -n "$gpu" ] || ((passed + failed > 0)) || verdict=skip
row "gpu tests (${#gpu_tests[@]} executables)" "$verdict" \
  "$passed passed, $failed failed${failed_tests:+ ($failed_tests )}, $skipped skipped${why:+: $why}"

# ---------------------------------------------------------------- 3. the op table, cuda vs cpu
# One row per op, one column per dtype: max |cuda - cpu| / max(1, |cpu|) over the output and the
# input gradients; '!' marks an error above the test's tolerance for that dtype. Convolution rows
# name the cuDNN algorithms they ran.
sed -nE 's/^([0-9]+: )?(op [^ ]+ [^ ]+ (max_rel_err|skipped).*)$/\2/p' "$tests_log" | awk '
  BEGIN { tol["f32"] = 1e-5; tol["f16"] = 1e-2; tol["bf16"] = 3e-2
    nd = split("f32 f16 bf16", ds, " ") }
  !($2 in seen) { seen[$2] = 1; order[++n] = $2 }
  $4 == "max_rel_err" { v = $5 + 0; cell[$2, $3] = sprintf("%.2g%s", v, v > tol[$3] ? "!" : "")
    if (v > worst[$3]) worst[$3] = v; if (v > tol[$3]) over++; checked++
    if ($6 == "algos") algos[++na] = sprintf("%s %s: %s %s %s", $2, $3, $7, $8, $9) }
  $4 == "skipped" { cell[$2, $3] = "skip"; skipped++ }
  END {
    if (n == 0) exit
    printf "%-28s", "op (max rel err vs cpu)"
    for (d = 1; d <= nd; d++) printf " %9s", ds[d]
    print ""
    for (i = 1; i <= n; i++) {
      printf "%-28s", order[i]
      for (d = 1; d <= nd; d++)
        printf " %9s", ((order[i], ds[d]) in cell) ? cell[order[i], ds[d]] : "-"
      print ""
    }
    for (i = 1; i <= na; i++) print "cuDNN algorithms of " algos[i]
    printf "SUMMARY %d ops, %d checked, %d over tolerance, %d skipped;", n, checked, over, skipped
    printf " worst f32 %.2g, f16 %.2g, bf16 %.2g\n", worst["f32"], worst["f16"], worst["bf16"]
  }' >"$logs/op_table.txt"
if [ -s "$logs/op_table.txt" ]; then
  grep -v '^SUMMARY' "$logs/op_table.txt" | tee -a "$logs/gpu_check.txt"
  summary="$(sed -n 's/^SUMMARY //p' "$logs/op_table.txt")"
  verdict=ok
  [[ "$summary" == *" 0 over tolerance"* ]] || verdict=FAIL
  row "op table, cuda vs cpu" "$verdict" "$summary"
elif [ -n "$gpu" ]; then
  row "op table, cuda vs cpu" FAIL "no 'op ... max_rel_err' lines (tests.log)"
else
  row "op table, cuda vs cpu" skip "$no_gpu"
fi

# ---------------------------------------------------------------- 4. train on cuda against cpu
# The same seed, data and steps on both devices; loss and every parameter's norm must agree.
say "-- training ($(left)s left)"
compare() { python3 scripts/gpu_compare.py "$@" 2>&1 | tail -1; return "${PIPESTATUS[0]}"; }
train() {  # train NAME ARGS...: tally train ... --json into $tmp/NAME.json, logged in run.log
  local name="$1"
  shift
  echo "=== tally train $* --json" >>"$run_log"
  in_tally_env step 10 90 "$bin/tally" train "$@" --json >"$tmp/$name.json" 2>>"$run_log"
  local rc=$?
  cat "$tmp/$name.json" >>"$run_log"
  return $rc
}
verdict_of() { case "$1" in 0) echo ok ;; *) echo FAIL ;; esac; }
common=(--dataset synthetic --seed 7 --batch 128)
# train_row LABEL NAME ARGS...: tally train ARGS on cpu and on cuda ($tmp/NAME-cpu.json,
# $tmp/NAME-cuda.json), compared into the row LABEL; without a GPU, on cpu twice.
train_row() {
  local label="$1" name="$2" verdict line second=cuda
  shift 2
  [ -n "$gpu" ] || second=cpu2
  train "$name-cpu" "$@" --device cpu && train "$name-$second" "$@" --device "${second%2}"
  if [ $? -eq 124 ]; then  # a run the deadline stopped or never started has nothing to compare
    row "$label" FAIL "timed out: a run passed its 90 s limit or the budget ran out (run.log)"
  elif [ -n "$gpu" ]; then
    line="$(compare train "$tmp/$name-cuda.json" "$tmp/$name-cpu.json")"
    row "$label" "$(verdict_of $?)" "$line"
  else
    verdict=skip
    line="$(compare train "$tmp/$name-cpu.json" "$tmp/$name-cpu2.json")" || verdict=FAIL
    row "$label" "$verdict" "$no_gpu; cpu vs cpu rehearsed: $line"
  fi
}
for model in mlp cnn; do
  train_row "train $model 20 steps, cuda vs cpu" "$model" --model "$model" --steps 20 "${common[@]}"
done
# The transformers' kernels: embedding, layer_norm / rms_norm, rotary, batched attention
# products, masked_fill, softmax, silu, cross_entropy over the vocabulary.
for model in gpt-tiny llama-tiny; do
  train_row "train $model 10 steps, cuda vs cpu" "$model" --model "$model" --steps 10 \
    --optimizer adamw --dataset synthetic --seed 7 --batch 16
done
# Each 16-bit arrangement on mlp, whose GEMMs run on tensor cores through cuBLAS (cnn's 16-bit
# convolutions are in the gpu tests); gpu_compare.py gives 16-bit runs their own tolerance.
for precision in amp-fp16 amp-bf16 fp16 bf16; do
  train_row "mlp $precision 10 steps, cuda vs cpu" "mlp-$precision" --model mlp --steps 10 \
    --precision "$precision" "${common[@]}"
done
# DDP in a world of one: on cuda its buckets are all-reduced by NCCL on the communication stream,
# on cpu by nothing; ZeRO-1 adds the reduce-scatter, the sharded AdamW and the all-gather. (A
# small lr keeps the loss away from 0, where a relative comparison of losses means little.)
train_row "mlp --ddp --zero 1 (NCCL, one rank) 10 steps, cuda vs cpu" mlp-ddp --model mlp \
  --steps 10 --ddp --zero 1 --optimizer adamw --lr 0.0001 --bucket-mb 1 "${common[@]}"

# ---------------------------------------------------------------- 5. sim:cuda against cuda
# sim:cuda given the cuDNN choices the cuda run logged must request what the cuda run requested,
# event for event. Without a GPU the same comparison runs on cpu against sim:cpu.
# The preset tally info matched to this GPU, else one of its architecture: the cuBLAS workspace
# sim:cuda takes depends on the compute capability.
preset="$(sed -n 's/^saved .* for \([a-z0-9.-]*\) to .*/\1/p' "$run_log" | head -1)"
if [ -z "$preset" ]; then
  case "$arch" in
    75) preset=t4-16gb ;;
    80) preset=a100-80gb ;;
    89) preset=l4-24gb ;;
    *) preset=h100-80gb ;;
  esac
fi
# trace_row LABEL NAME ARGS...: tally train ARGS for two steps on cuda and on sim:cuda (cpu and
# sim:cpu without a GPU), their traces compared event for event into the row LABEL.
trace_row() {
  local label="$1" name="$2" verdict line
  shift 2
  local args=("$@" --optimizer adamw --steps 2 "${common[@]}")
  if [ -n "$gpu" ]; then
    train "$name-trace-cuda" "${args[@]}" --device cuda --conv-log "$tmp/$name-conv.csv" \
      --trace "$tmp/$name-cuda.csv" &&
      train "$name-trace-sim" "${args[@]}" --device sim:cuda --device-preset "$preset" \
        --conv-workspace "$tmp/$name-conv.csv" --trace "$tmp/$name-sim.csv"
    line="$(compare traces "$tmp/$name-cuda.csv" "$tmp/$name-sim.csv")"
    row "$label" "$(verdict_of $?)" "$line"
  else
    train "$name-trace-cpu" "${args[@]}" --device cpu --trace "$tmp/$name-cpu.csv" &&
      train "$name-trace-sim" "${args[@]}" --device sim:cpu --trace "$tmp/$name-sim.csv"
    verdict=skip
    line="$(compare traces "$tmp/$name-cpu.csv" "$tmp/$name-sim.csv")" || verdict=FAIL
    row "$label" "$verdict" "$no_gpu; sim:cpu vs cpu rehearsed: $line"
  fi
}
for model in mlp cnn gpt-tiny; do
  trace_row "sim:cuda vs cuda trace, $model" "$model" --model "$model"
done
# The expandable strategy: on cuda its pages are mapped through the driver's virtual memory API
# (cuMemCreate, cuMemMap, cuMemSetAccess), on sim:cuda the same page logic maps addresses only;
# every block and every page event must agree.
trace_row "sim:cuda vs cuda trace, cnn expandable" cnn-expandable --model cnn \
  --alloc-conf expandable_segments:True

# ---------------------------------------------------------------- 6. memory outside tally
# The driver's used memory less tally's reserved bytes, at the end of a whole run (lazy module
# loading loads kernels on first use: only after a whole step are they all in).
if [ -n "$gpu" ]; then
  line="$(compare outside "$tmp/cnn-cuda.json")"
  row "outside tally, after a cnn run" "$(verdict_of $?)" "$line"
else
  row "outside tally, after a cnn run" skip "$no_gpu"
fi

# ---------------------------------------------------------------- 7. GEMM and bandwidth
bench_log="$logs/bench.log"
: >"$bench_log"
say "-- benchmarks ($(left)s left)"
if [ -z "$gpu" ]; then
  row "gemm vs cublas, bandwidth vs copy" skip "$no_gpu"
elif [ -x "$bin/tally_cuda_bench" ]; then
  in_tally_env step 20 60 "$bin/tally_cuda_bench" --rounds 3 >>"$bench_log" 2>&1 ||
    row "cuda bench" FAIL "exit $? (bench.log)"
  while IFS='|' read -r label text; do
    row "${label% }" info "${text# }"
  done < <(sed -n 's/^result //p' "$bench_log")
else
  row "cuda bench" FAIL "not built ($bin/tally_cuda_bench)"
fi

# ---------------------------------------------------------------- 8. NCCL all-reduce
# bench/allreduce_bench.cpp at world size 1 on cuda (nccl-tests' table, in bench.log) and the
# device memory NCCL's communicator takes outside tally's allocator. libnccl.so.2 is the
# machine's own (about 200 MB, too big to carry): the toolkit's, the loader's or PyTorch's wheel's.
# Without a GPU the bench runs on cpu as a world of one, to show that the pack's binary starts.
nccl_row="nccl all-reduce, 1 rank"
if [ ! -x "$bin/tally_allreduce_bench" ]; then
  row "$nccl_row" FAIL "not built ($bin/tally_allreduce_bench)"
else
  nccl_device=cuda
  [ -n "$gpu" ] || nccl_device=cpu
  echo "=== tally_allreduce_bench --device $nccl_device" >>"$bench_log"
  in_tally_env step 15 60 "$bin/tally_allreduce_bench" --device "$nccl_device" --max-bytes 64M \
    >"$tmp/nccl.txt" 2>&1
  rc=$?
  cat "$tmp/nccl.txt" >>"$bench_log"
  comm="$(sed -n 's/^# nccl communicator: [0-9-]* bytes (\([0-9.-]* MiB\)).*/\1/p' "$tmp/nccl.txt")"
  largest="$(awk '$1 ~ /^[0-9]+$/ && NF == 8 { line = $1 " B in " $5 " us, algbw " $6 " GB/s"
    wrong += $8 } END { if (line != "") print line "; #wrong " wrong + 0 }' "$tmp/nccl.txt")"
  unavailable="$(grep -m1 -o -e 'needs NCCL.*' -e 'NCCL could not be loaded[^:]*' "$tmp/nccl.txt")"
  if [ -z "$gpu" ]; then
    verdict=skip
    ((rc == 0)) && [ -n "$largest" ] || verdict=FAIL
    row "$nccl_row" "$verdict" "$no_gpu; cpu world of one rehearsed: ${largest:-exit $rc (bench.log)}"
  elif ((rc == 0)) && [ -n "$comm" ] && [ -n "$largest" ]; then
    verdict=info
    [[ "$largest" == *"#wrong 0" ]] || verdict=FAIL
    row "$nccl_row" "$verdict" "communicator $comm of device memory; largest $largest"
  elif [ -n "$unavailable" ]; then
    row "$nccl_row" skip "$unavailable"
  else
    row "$nccl_row" FAIL "exit $rc: $(tail -1 "$tmp/nccl.txt" | cut -c1-100) (bench.log)"
  fi
fi

# ---------------------------------------------------------------- 9. a step against PyTorch
if [ -x "$bin/tally_train_step_bench" ]; then
  printf '#!/bin/sh\nLD_LIBRARY_PATH=%q exec %q "$@"\n' "$tally_ld" \
    "$(cd "$bin" && pwd)/tally_train_step_bench" >"$tmp/tally_train_step_bench"
  chmod +x "$tmp/tally_train_step_bench"
fi
if [ -z "$gpu" ]; then
  row "step vs pytorch" skip "$no_gpu"
elif [ -x "$tmp/tally_train_step_bench" ]; then
  step 30 90 python3 bench/compare_torch.py "$tmp/tally_train_step_bench" --device cuda \
    --models mlp,cnn --warmup 10 --steps 30 --rounds 2 >>"$bench_log" 2>&1 ||
    row "step vs pytorch" FAIL "compare_torch exit $? (bench.log)"
  while read -r model batch _ tally_ms torch_ms ratio _ verdict; do
    row "$model b$batch step vs pytorch" info \
      "$ratio (target <= 1, $verdict); tally $tally_ms ms, torch $torch_ms ms"
  done < <(grep -E '^(mlp|cnn) +[0-9]+ +[0-9]+ +[0-9.]+ ' "$bench_log")
fi

# GPT-2 small (no dropout, so that PyTorch's side is the same model), batch 8 x 1024, amp-bf16,
# AdamW: tally's measured peaks against its sim:cuda estimate (which must be equal: no
# convolution, so nothing is bounded) and against PyTorch eager's (bench/gpt2_torch_step.py).
gpt2=(--model-config bench/configs/gpt2-124m-no-dropout.json --batch 8 --seq-len 1024
  --precision amp-bf16 --optimizer adamw --steps 3)
peaks() { python3 -c 'import json, sys; j = json.load(open(sys.argv[1]))
print(j["peak_allocated_bytes"], j["peak_reserved_bytes"], j.get("train_seconds", 0))' "$1"; }
if [ -z "$gpu" ]; then
  row "gpt2-124m amp-bf16 vs estimate, torch" skip "$no_gpu"
elif train gpt2-cuda "${gpt2[@]}" --lr 0.0001 --dataset synthetic --device cuda &&
  in_tally_env step 5 30 "$bin/tally" estimate "${gpt2[@]}" --device-preset "$preset" --json \
    >"$tmp/gpt2-sim.json" 2>>"$run_log"; then
  read -r alloc reserved seconds < <(peaks "$tmp/gpt2-cuda.json")
  read -r sim_alloc sim_reserved _ < <(peaks "$tmp/gpt2-sim.json")
  verdict=ok
  [ "$alloc" = "$sim_alloc" ] || verdict=FAIL
  torch="$(step 20 120 python3 bench/gpt2_torch_step.py --steps 3 2>>"$run_log")"
  echo "=== gpt2_torch_step: $torch" >>"$run_log"
  torch_line="$(python3 -c 'import json, sys; j = json.loads(sys.argv[1])
print(f"torch {j[\"torch\"]} {j[\"peak_allocated_bytes\"]}/{j[\"peak_reserved_bytes\"]} B, "
      f"{j[\"step_ms\"]:.1f} ms/step")' "$torch" 2>/dev/null || echo "torch: none (run.log)")"
  ms="$(python3 -c "print(f'{$seconds * 1000 / 3:.1f}')")"
  row "gpt2-124m amp-bf16 vs estimate, torch" "$verdict" "tally $alloc/$reserved B \
alloc/reserved, estimate $sim_alloc/$sim_reserved B; $torch_line; tally $ms ms/step (first incl.)"
else
  row "gpt2-124m amp-bf16 vs estimate, torch" FAIL "tally train or estimate failed (run.log)"
fi

# ---------------------------------------------------------------- 10. the precision table
# Peak and time per arrangement (bench/precision_table.py); without a GPU, mlp on the cpu.
precision_rows() {  # precision_rows VERDICT PREFIX: one row per model from $logs/precision.md
  local model
  for model in mlp cnn; do
    line="$(awk -F' *[|] *' -v m="$model" '$2 == m { printf "%s %s MiB %s; ", $3, $10, $13 }' \
      "$logs/precision.md")"
    [ -z "$line" ] || row "precision table, $model" "$1" "$2peak and time vs fp32: ${line%; }"
  done
}
say "-- precision table ($(left)s left)"
printf '#!/bin/sh\nLD_LIBRARY_PATH=%q exec %q "$@"\n' "$tally_ld" "$(cd "$bin" && pwd)/tally" \
  >"$tmp/tally"
chmod +x "$tmp/tally"
if [ -z "$gpu" ]; then
  if step 10 60 python3 bench/precision_table.py "$tmp/tally" --models mlp --steps 2 --batch 32 \
    >"$logs/precision.md" 2>&1; then
    precision_rows skip "$no_gpu; cpu rehearsed: "
  else
    row "precision table" FAIL "cpu rehearsal exit $? (precision.md)"
  fi
else
  if step 20 90 python3 bench/precision_table.py "$tmp/tally" --device cuda --steps 5 \
    >"$logs/precision.md" 2>&1; then
    precision_rows info ""
  else
    row "precision table" FAIL "exit $? (precision.md)"
  fi
fi

# ---------------------------------------------------------------- 11. the checkpoint table
# deep-mlp's activation peak and step time per policy against none (bench/checkpoint_table.py);
# without a GPU, a small batch on the cpu.
checkpoint_row() {  # checkpoint_row VERDICT PREFIX: one row from $logs/checkpoint.md
  local line
  line="$(awk -F' *[|] *' '$2 != "none" && $2 ~ /^(every|sqrt|blocks)/ {
    printf "%s activation %s, time %s; ", $2, $4, $8 }' "$logs/checkpoint.md")"
  [ -z "$line" ] || row "checkpoint table, deep-mlp" "$1" "$2vs none: ${line%; }"
}
say "-- checkpoint table ($(left)s left)"
if [ ! -x "$tmp/tally_train_step_bench" ]; then
  row "checkpoint table" FAIL "not built ($bin/tally_train_step_bench)"
elif [ -z "$gpu" ]; then
  if step 10 60 python3 bench/checkpoint_table.py "$tmp/tally_train_step_bench" --batch 8 \
    --warmup 0 --steps 1 --policies none,sqrt >"$logs/checkpoint.md" 2>&1; then
    checkpoint_row skip "$no_gpu; cpu rehearsed: "
  else
    row "checkpoint table" FAIL "cpu rehearsal exit $? (checkpoint.md)"
  fi
else
  if step 20 90 python3 bench/checkpoint_table.py "$tmp/tally_train_step_bench" --device cuda \
    --batch 1024 --warmup 2 --steps 10 --rounds 2 --policies none,every:1,sqrt,every:4 \
    >"$logs/checkpoint.md" 2>&1; then
    checkpoint_row info ""
  else
    row "checkpoint table" FAIL "exit $? (checkpoint.md)"
  fi
fi

# ---------------------------------------------------------------- errors swallowed in cleanup
# Destructors record CUDA errors instead of terminating; any run that recorded one says so.
cleanup="$(grep -h "while freeing memory were recorded" "$tests_log" "$run_log" | sort | uniq -c |
  sort -rn | head -3 | sed 's/^ *//' | paste -sd ';')"
if [ -n "$cleanup" ]; then
  row "errors recorded in cleanup" FAIL "${cleanup:0:160}"
else
  row "errors recorded in cleanup" ok "none in the tests or runs"
fi

print_summary
exit $status
