#!/usr/bin/env bash
# The one-shot GPU check: on a machine with an NVIDIA GPU, runs every test labelled gpu plus
# `tally info`, writes full logs to $OUT (or /tmp/tally-gpu-check), and ends with a short table.
#
#   scripts/gpu_check.sh [BUILD_DIR]
#
# BUILD_DIR (default build-gpu) may hold binaries built elsewhere for the GPU's architecture
# (e.g. -DCMAKE_CUDA_ARCHITECTURES=90 for H100/H200) with the shared libraries a bare machine
# lacks beside them in BUILD_DIR/lib (libcudart.so.13, libopenblas.so.0, libgfortran.so.5,
# libquadmath.so.0); the script then only runs them. Otherwise it configures and builds there,
# which needs the build dependencies of scripts/setup.sh.
set -uo pipefail
cd "$(dirname "$0")/.."
build="${1:-build-gpu}"
out="${OUT:-/tmp/tally-gpu-check}"
mkdir -p "$out"

nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | tee "$out/gpu.txt"
if [ ! -x "$build/bin/tally" ]; then
  arch="$(nvidia-smi --query-gpu=compute_cap --format=csv,noheader | head -1 | tr -d .)"
  cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTALLY_CUDA=ON \
    -DCMAKE_CUDA_ARCHITECTURES="$arch" -DTALLY_BUILD_BENCH=OFF >"$out/build.log" 2>&1 &&
    cmake --build "$build" --parallel >>"$out/build.log" 2>&1 ||
    { echo "build failed: see $out/build.log"; tail -20 "$out/build.log"; exit 1; }
fi
export LD_LIBRARY_PATH="$PWD/$build/lib:${LD_LIBRARY_PATH:-}"

rows=()
status=0
"$build/bin/tally" info >"$out/info.txt" 2>&1 || status=1
rows+=("tally info|$(grep -m1 -E '^ *cuda:[0-9]' "$out/info.txt" | sed 's/^ *//' || echo 'no CUDA device listed')")
for test in "$build"/bin/tally_*_tests; do
  name="$(basename "$test")"
  "$test" --gtest_brief=1 >"$out/$name.log" 2>&1
  rc=$?
  [ $rc -eq 0 ] || status=1
  summary="$(grep -E '^\[  (PASSED|FAILED) |tests? ran|SKIPPED \]' "$out/$name.log" | tr '\n' ' ')"
  rows+=("$name|rc=$rc $summary")
done

echo
printf '%-32s %s\n' "check" "result"
for row in "${rows[@]}"; do printf '%-32s %s\n' "${row%%|*}" "${row#*|}"; done
exit $status
