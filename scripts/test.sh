#!/usr/bin/env bash
# Sets up and runs the whole test suite in every configuration CI checks:
#   build/         CUDA enabled when a toolkit is found (TALLY_CUDA=AUTO); every test but the slow
#                  ones, which run on the CPU alone and so once, in build-nocuda
#   build-nocuda/  CUDA off: what a machine without any CUDA toolkit builds; every test
#   build-asan/    every test but the slow ones under AddressSanitizer + UndefinedBehaviorSanitizer,
#                  built without MPI: what a machine without Open MPI builds (DDP runs there as a
#                  world of one); the mpi tests run in the other two
# GPU tests (label gpu) skip, saying why, when no device is present. Exits non-zero when any
# configuration fails to build or any test fails; the last line sums up all of them.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

logs="$(mktemp -d)"
trap 'rm -rf "$logs"' EXIT
status=0

# The browser tests (label browser) load tally report's page in headless Chromium.
if ! dpkg-query -W -f='${Status}' chromium 2>/dev/null | grep -q "install ok installed"; then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "test: installing chromium"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends chromium
fi

run_config() {  # run_config DIR CTEST_FILTER CMAKE_ARGS...
  local dir="$1" filter="$2"
  shift 2
  echo "=== $dir: configure and build"
  if ! scripts/setup.sh "$dir" "$@"; then
    echo "=== $dir: build FAILED"
    status=1
    return
  fi
  echo "=== $dir: tests${filter:+ ($filter)}"
  # shellcheck disable=SC2086
  ctest --test-dir "$dir" --output-on-failure --parallel 2 $filter \
    | tee "$logs/$(basename "$dir").log"
  if [ "${PIPESTATUS[0]}" -ne 0 ]; then status=1; fi
}

run_config build "-LE slow"
run_config build-nocuda "" -DTALLY_CUDA=OFF -DTALLY_BUILD_BENCH=OFF
run_config build-asan "-LE slow" -DTALLY_CUDA=OFF -DTALLY_MPI=OFF -DTALLY_SANITIZE=ON \
  -DTALLY_BUILD_BENCH=OFF \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo

reasons=$(grep -ho "no CUDA device: .*" build/Testing/Temporary/LastTest.log 2>/dev/null | sort -u)
if [ -n "$reasons" ]; then echo "gpu tests skipped: ${reasons#no CUDA device: }"; fi

passed=$(cat "$logs"/*.log | grep -cE "Test +#[0-9]+: .* Passed")
failed=$(cat "$logs"/*.log | grep -cE "Test +#[0-9]+: .*\*\*\*(Failed|Timeout|Exception)|\*\*\*Not Run")
skipped=$(cat "$logs"/*.log | grep -cE "Test +#[0-9]+: .*\*\*\*Skipped")
echo "all configurations: $passed passed, $failed failed, $skipped skipped"
if [ "$failed" -ne 0 ]; then status=1; fi
exit $status
