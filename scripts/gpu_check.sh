#!/usr/bin/env bash
# The one-shot check of tally's CUDA backend on a machine with an NVIDIA GPU and no internet
# (docs/gpu.md): says what the machine has, builds (or takes a prebuilt build), runs the tests
# labelled gpu, the CUDA-vs-CPU op table, a short training run, the memory checks and the CUDA
# benchmarks, and ends with a summary table. Full logs go to LOG_DIR (default $OUT, else
# /tmp/tally-gpu-check): six files, so that all of them come back from a device run.
#
#   scripts/gpu_check.sh [--build-only] [--prebuilt DIR] [--build DIR] [--deps DIR] [LOG_DIR]
#
#   --prebuilt DIR  binaries built elsewhere (scripts/gpu_prepare.sh prebuilt), used when
#                   DIR/prebuilt.tar.gz or DIR/bin/tally exists (default build-gpu)
#   --build DIR     where to build from source otherwise (default build-check)
#   --deps DIR      .deb files from scripts/gpu_prepare.sh debs, unpacked into a private prefix
#                   (TALLY_DEPS_PREFIX, default /tmp/tally-deps) and used by the build; without
#                   them the machine's own packages are used (default .deps)
#   --build-only    configure and build, then stop: needs no GPU
#
# Every step runs under a deadline (GPU_CHECK_BUDGET seconds from the start, default 480), so
# the summary is printed even when a step hangs. Exits 0 when the build and every test passed;
# benchmark targets missed are reported, not failed on; 2 when there is no GPU to check.
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

prebuilt="build-gpu"
build="build-check"
deps=.deps
build_only=0
logs="${OUT:-/tmp/tally-gpu-check}"
while (($#)); do
  case "$1" in
    --prebuilt | --build | --deps)
      [ $# -ge 2 ] || { echo "gpu_check: $1 needs a directory" >&2; exit 2; }
      case "$1" in
        --prebuilt) prebuilt="$2" ;;
        --build) build="$2" ;;
        --deps) deps="$2" ;;
      esac
      shift 2
      ;;
    --build-only) build_only=1 && shift ;;
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
deadline=$((SECONDS + ${GPU_CHECK_BUDGET:-480}))
prefix="${TALLY_DEPS_PREFIX:-/tmp/tally-deps}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

say() { printf '%s\n' "$*" | tee -a "$logs/gpu_check.txt"; }
rows=()
row() { rows+=("$(printf '%-30s %s' "$1" "$2")"); }
status=0

# ---------------------------------------------------------------- what this machine has
first() {  # the first argument that names an existing path
  for p in "$@"; do [ -n "$p" ] && [ -e "$p" ] && echo "$p" && return 0; done
  return 1
}
smi="$(first "$(command -v nvidia-smi)" /usr/local/nvidia/bin/nvidia-smi /usr/bin/nvidia-smi)"
gpu=""
if [ -n "$smi" ]; then
  # Drivers older than compute_cap's introduction refuse the whole query.
  gpu="$("$smi" --query-gpu=name,memory.total,driver_version,compute_cap --format=csv,noheader \
    2>/dev/null | head -1)" ||
    gpu="$("$smi" --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
  # Without a GPU it answers in prose ("No devices were found") rather than in fields.
  [[ "$gpu" == *,* ]] || gpu=""
fi
arch="$(echo "$gpu" | awk -F', *' '{ gsub(/\./, "", $4); print $4 }')"
arch="${arch:-${CUDA_ARCH:-90}}"

nvcc="$(first "${CUDACXX:-}" "$(command -v nvcc)" /usr/local/cuda/bin/nvcc \
  "$(find /usr/local -maxdepth 3 -path '/usr/local/cuda-*/bin/nvcc' 2>/dev/null | sort -V |
    tail -1)")"
nvcc_version=""
cuda_home=""
if [ -n "$nvcc" ]; then
  nvcc_version="$("$nvcc" --version | sed -n 's/.*release [0-9.]*, V\([0-9.]*\).*/\1/p')"
  cuda_home="$(cd "$(dirname "$(readlink -f "$nvcc")")/.." && pwd)"
fi
cuda_major="${nvcc_version%%.*}"
python="$(command -v python3)"
py_nvidia=()
if [ -n "$python" ]; then
  mapfile -t py_nvidia < <("$python" -c 'import os, sys
for d in sorted({os.path.join(p, "nvidia") for p in sys.path if p}):
    if os.path.isdir(d): print(d)' 2>/dev/null)
fi

# Every copy of library NAME, in order of preference: the given folders, the toolkit's, the
# loader's cache, then the Python environment's nvidia/*/lib folders.
find_libs() {
  local name="$1" dir
  shift
  for dir in "$@" "$cuda_home/lib64" "$cuda_home/lib" "$cuda_home/targets/x86_64-linux/lib" \
    /usr/lib/x86_64-linux-gnu /usr/local/lib /usr/lib64; do
    [ -n "$dir" ] && [ -e "$dir/$name" ] && echo "$dir/$name"
  done
  ldconfig -p 2>/dev/null | awk -v n="$name" '$1 == n { print $NF }'
  if ((${#py_nvidia[@]})); then find "${py_nvidia[@]}" -maxdepth 3 -name "$name" 2>/dev/null; fi
}
version_of() {  # version_of HEADER PREFIX: PREFIX_MAJOR.PREFIX_MINOR.PREFIX_PATCH(LEVEL)
  awk -v p="$2" '$1 == "#define" && $2 == p "_MAJOR" { a = $3 } $2 == p "_MINOR" { b = $3 }
    $2 ~ "^" p "_PATCH" { c = $3 } END { if (a != "") print a "." b "." c }' "$1" 2>/dev/null
}

# cuDNN: the first library with headers beside it, so that the two are one version.
cudnn_lib=""
cudnn_inc=""
while read -r lib; do
  [ -n "$lib" ] || continue
  [ -n "$cudnn_lib" ] || cudnn_lib="$lib"
  if [ -f "$(dirname "$lib")/../include/cudnn.h" ]; then
    cudnn_lib="$lib"
    cudnn_inc="$(cd "$(dirname "$lib")/../include" && pwd)"
    break
  fi
done < <(find_libs libcudnn.so.9 "${TALLY_CUDNN_ROOT:+$TALLY_CUDNN_ROOT/lib}" \
  "${TALLY_CUDNN_ROOT:+$TALLY_CUDNN_ROOT/lib64}")
if [ -z "$cudnn_inc" ]; then
  header="$(first "$cuda_home/include/cudnn.h" /usr/include/cudnn.h /usr/local/include/cudnn.h \
    /usr/include/x86_64-linux-gnu/cudnn.h)"
  [ -n "$header" ] && cudnn_inc="$(dirname "$header")"
fi
cublas_lib="$(find_libs "libcublas.so.$cuda_major" | head -1)"
cudart_lib="$(find_libs "libcudart.so.$cuda_major" | head -1)"
nccl_lib="$(find_libs libnccl.so.2 | head -1)"
nccl_version=""
[ -n "$nccl_lib" ] && nccl_version="$(version_of "$(dirname "$nccl_lib")/../include/nccl.h" NCCL)"

cxx="$(first "${CXX:-}" "$(command -v c++)" "$(command -v g++)")"
generator=(-G Ninja)
command -v ninja >/dev/null || generator=(-G "Unix Makefiles")
ncpu="$(nproc)"
deb_files=()
if [ -d "$deps" ]; then mapfile -t deb_files < <(find "$deps" -maxdepth 1 -name '*.deb' | sort); fi
# A prebuilt build comes packed (unpacked below into DIR/dist) or as DIR/bin and DIR/lib.
root=""
if [ -f "$prebuilt/prebuilt.tar.gz" ]; then
  root="$prebuilt/dist"
  how="prebuilt $prebuilt/prebuilt.tar.gz"
elif [ -x "$prebuilt/bin/tally" ]; then
  root="$prebuilt"
  how="prebuilt $prebuilt (its bin/ and lib/)"
fi
if [ -n "$root" ]; then
  bin="$root/bin"
elif ((${#deb_files[@]})); then
  bin="$build/bin"
  how="from source in $build, with ${#deb_files[@]} packages from $deps"
else
  bin="$build/bin"
  how="from source in $build, with this machine's packages"
fi

missing="MISSING"
say "== tally GPU check: what this machine has"
say "gpu       ${gpu:-$missing (nvidia-smi ${smi:-not found})}"
say "nvcc      ${nvcc:-$missing} ${nvcc_version}${cuda_home:+ (toolkit $cuda_home)}"
say "cudart    ${cudart_lib:-$missing}"
say "cublas    ${cublas_lib:-$missing}"
say "cudnn     ${cudnn_lib:-$missing} $(version_of "$cudnn_inc/cudnn_version.h" CUDNN)" \
  "(headers ${cudnn_inc:-$missing})"
say "nccl      ${nccl_lib:-not found} ${nccl_version}"
say "c++       ${cxx:-$missing} $([ -n "$cxx" ] && "$cxx" -dumpfullversion); cmake" \
  "$(cmake --version 2>/dev/null | awk 'NR == 1 { print $3 }'); ${generator[1]}" \
  "$(ninja --version 2>/dev/null);" \
  "glibc $(ldd --version 2>/dev/null | awk 'NR == 1 { print $NF }');" \
  "$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release 2>/dev/null);" \
  "$ncpu cores"
torch=""
[ -n "$python" ] && torch="$("$python" -c 'import importlib.metadata as m
try: print("torch", m.version("torch"))
except Exception: print("(no torch)")')"
say "python3   ${python:-$missing} $torch"
say "build     $how; sm_$arch; logs in $logs"

if [ -z "$gpu" ] && ((!build_only)); then
  say ""
  say "gpu_check: no NVIDIA GPU here (nvidia-smi ${smi:-not found}${smi:+ lists none}):" \
    "nothing to check. --build-only configures and builds without one."
  exit 2
fi

# The loader path of every tally process: the unpacked packages, the prebuilt libraries and the
# CUDA libraries' folders. Only tally's processes get it: PyTorch must keep loading its own
# copies of cuBLAS and cuDNN.
tally_ld=""
add_ld() {
  case "$1" in
    "") ;;
    /*) tally_ld="${tally_ld:+$tally_ld:}$1" ;;
    *) tally_ld="${tally_ld:+$tally_ld:}$PWD/$1" ;;
  esac
}
[ -n "$root" ] && add_ld "$root/lib"
multiarch="$prefix/usr/lib/x86_64-linux-gnu"
if [ -z "$root" ] && ((${#deb_files[@]})); then
  add_ld "$multiarch/openblas-pthread"
  add_ld "$multiarch"
fi
for lib in "$cudnn_lib" "$cublas_lib" "$cudart_lib"; do
  [ -n "$lib" ] && add_ld "$(dirname "$lib")"
done
tally_ld="$tally_ld${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
in_tally_env() { LD_LIBRARY_PATH="$tally_ld" "$@"; }

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
  ((limit >= need)) || limit="$need"
  ((t < limit)) || t="$limit"
  timeout --kill-after=10 "$t" "$@"
}

# ---------------------------------------------------------------- build
unpack_deb() {  # dpkg-deb where there is one, else the .deb's own ar + tar layers
  if command -v dpkg-deb >/dev/null; then
    dpkg-deb -x "$1" "$2"
    return
  fi
  local deb dir rc
  deb="$(readlink -f "$1")"
  dir="$(mktemp -d)"
  (cd "$dir" && ar x "$deb") && tar -xf "$dir"/data.tar.* -C "$2"
  rc=$?
  rm -rf "$dir"
  return $rc
}

configure_args() {  # the cmake arguments that point the build at what was found
  local args=(-DCMAKE_BUILD_TYPE=Release -DTALLY_CUDA=ON -DTALLY_MPI=OFF
    "-DCMAKE_CUDA_ARCHITECTURES=$arch")
  [ -n "$nvcc" ] && args+=("-DCMAKE_CUDA_COMPILER=$nvcc")
  [ -n "$cudnn_lib" ] && args+=("-DTALLY_CUDNN_LIBRARY=$cudnn_lib")
  [ -n "$cudnn_inc" ] && args+=("-DTALLY_CUDNN_INCLUDE=$cudnn_inc")
  if ((${#deb_files[@]})); then
    local usr="$prefix/usr" libz
    args+=("-DCMAKE_PREFIX_PATH=$usr" "-DGTest_DIR=$multiarch/cmake/GTest"
      "-Dbenchmark_DIR=$multiarch/cmake/benchmark"
      "-Dnlohmann_json_DIR=$usr/share/cmake/nlohmann_json"
      "-DBLAS_openblas_LIBRARY=$multiarch/openblas-pthread/libopenblas.so"
      "-DTALLY_CBLAS_INCLUDE=$usr/include/x86_64-linux-gnu/openblas-pthread"
      "-DZLIB_INCLUDE_DIR=$usr/include"
      # CLI11 is found by its header alone.
      "-DCMAKE_CXX_FLAGS=-isystem $usr/include")
    # zlib1g-dev's libz.so points at the runtime's file name of Debian 12, which other systems
    # name differently: link the machine's own libz.so.1.
    libz="$(find_libs libz.so.1 | head -1)"
    [ -n "$libz" ] && args+=("-DZLIB_LIBRARY=$libz")
  fi
  printf '%s\n' "${args[@]}"
}

build_from_source() {
  local t0=$SECONDS failed
  : >"$logs/build.log"
  if ((${#deb_files[@]})); then
    # Emptied first, so that no file of an earlier set of packages stays; never a folder this
    # script did not make.
    if [ -e "$prefix" ] && [ ! -e "$prefix/.tally-deps" ]; then
      row build "not unpacked: $prefix was not made by this script (set TALLY_DEPS_PREFIX)"
      return 1
    fi
    rm -rf "$prefix" && mkdir -p "$prefix" && : >"$prefix/.tally-deps"
    for deb in "${deb_files[@]}"; do
      if ! unpack_deb "$deb" "$prefix" >>"$logs/build.log" 2>&1; then
        row build "FAILED to unpack $deb"
        return 1
      fi
    done
    echo "unpacked ${#deb_files[@]} packages into $prefix ($(du -sh "$prefix" | cut -f1))" \
      >>"$logs/build.log"
  fi
  local missing_tools=""
  [ -n "$nvcc" ] || missing_tools+=" nvcc"
  [ -n "$cxx" ] || missing_tools+=" c++"
  command -v cmake >/dev/null || missing_tools+=" cmake"
  [ -n "$cudnn_lib" ] && [ -n "$cudnn_inc" ] || missing_tools+=" cudnn"
  if [ -n "$missing_tools" ]; then
    row build "not possible: missing$missing_tools"
    return 1
  fi
  local args
  mapfile -t args < <(configure_args)
  say "-- configure ($(left)s left)"
  if ! in_tally_env step 60 300 cmake -S . -B "$build" "${generator[@]}" "${args[@]}" \
    >>"$logs/build.log" 2>&1; then
    grep -A4 'CMake Error' "$logs/build.log" | head -20 | tee -a "$logs/gpu_check.txt"
    row build "configure FAILED (build.log)"
    return 1
  fi
  say "-- build on $ncpu cores ($(left)s left)"
  local keep_going=(-k 0)
  [ "${generator[1]}" = Ninja ] || keep_going=(-k)
  # Whatever the build leaves of the budget, less the time the rest needs at least.
  in_tally_env step 60 "$(($(left) - 150))" cmake --build "$build" --parallel "$ncpu" -- \
    "${keep_going[@]}" >>"$logs/build.log" 2>&1
  local rc=$?
  failed="$(grep -c '^FAILED: ' "$logs/build.log")"
  if ((rc == 0)); then
    row build "ok in $((SECONDS - t0)) s (sm_$arch, $how)"
    return 0
  fi
  grep -m 12 -E 'error|^FAILED: ' "$logs/build.log" | cut -c1-200 | tee -a "$logs/gpu_check.txt"
  row build "FAILED: rc $rc, $failed failed targets after $((SECONDS - t0)) s (build.log)"
  return 1
}

say ""
if [ -n "$root" ]; then
  if [ "$root" = "$prebuilt/dist" ]; then
    rm -rf "$root"
    mkdir -p "$root"
    tar -xzf "$prebuilt/prebuilt.tar.gz" -C "$root" || say "warning: could not unpack the pack"
  fi
  for lib in libcudart.so.13 libopenblas.so.0 libgfortran.so.5 libquadmath.so.0; do
    [ -e "$root/lib/$lib" ] || say "warning: $root/lib/$lib is missing"
  done
  built_for="$(in_tally_env "$bin/tally" info 2>/dev/null |
    sed -n 's/.*architectures \([^)]*\)).*/\1/p')"
  row build "$how, architectures ${built_for:-unknown}"
  case ";$built_for;" in
    *";$arch;"* | *";$arch-real;"*) ;;
    *) say "warning: $how was built for '${built_for:-?}', the GPU is sm_$arch" ;;
  esac
else
  build_from_source || status=1
fi

print_summary() {
  say ""
  say "== summary: ${gpu:-no GPU}; $((SECONDS))s; logs in $logs"
  say "$(printf '%-30s %s' check result)"
  for r in "${rows[@]}"; do say "$r"; done
}
if ((build_only)) || [ ! -x "$bin/tally" ]; then
  [ -x "$bin/tally" ] || status=1
  print_summary
  exit $status
fi

# ---------------------------------------------------------------- tests labelled gpu
say "-- tests labelled gpu ($(left)s left)"
tests_log="$logs/tests.log"
: >"$tests_log"
if [ "$bin" = "$build/bin" ]; then
  in_tally_env step 30 300 ctest --test-dir "$build" -L gpu -V --timeout 240 >"$tests_log" 2>&1
  rc=$?
  result="$(grep -E 'tests passed, [0-9]+ tests? failed out of' "$tests_log" | tail -1)"
  [ -n "$result" ] || { result="no result (rc $rc)" && rc=1; }
  failed_tests="$(sed -n '/The following tests FAILED/,$p' "$tests_log" |
    sed -nE 's/^[[:space:]]+[0-9]+ - (.*)/\1/p' | head -5 | tr '\n' ' ')"
  ((rc == 0)) || status=1
  row "gpu tests (ctest -L gpu)" "$result${failed_tests:+; failed: $failed_tests}"
else
  gpu_tests=(tally_cuda_backing_tests tally_cuda_op_table_tests)
  [ -f "$bin/gpu-tests.txt" ] && mapfile -t gpu_tests <"$bin/gpu-tests.txt"
  passed=0
  failed_tests=""
  for t in "${gpu_tests[@]}"; do
    echo "=== $t" >>"$tests_log"
    if in_tally_env step 20 240 "$bin/$t" >>"$tests_log" 2>&1; then
      passed=$((passed + 1))
    else
      failed_tests+=" $t"
      status=1
    fi
  done
  row "gpu test executables" \
    "$passed/${#gpu_tests[@]} passed${failed_tests:+; failed:$failed_tests}"
fi

# ---------------------------------------------------------------- op table, cuda against cpu
op_lines() { sed -nE 's/^([0-9]+: )?(op [^ ]+ [^ ]+ (max_rel_err|skipped).*)$/\2/p' "$@"; }
if [ -z "$(op_lines "$tests_log")" ]; then
  if [ -x "$bin/tally_cuda_op_table_tests" ]; then
    in_tally_env step 20 180 "$bin/tally_cuda_op_table_tests" >>"$tests_log" 2>&1
  elif [ -x "$bin/tally_op_table_tests" ]; then
    in_tally_env step 20 180 "$bin/tally_op_table_tests" --gtest_filter='*cuda*' >>"$tests_log" 2>&1
  fi
fi
# One row per op, one column per dtype: max |cuda - cpu| / max(1, |cpu|) over the output and the
# input gradients; '!' marks an error above the test's tolerance for that dtype.
op_lines "$tests_log" | awk '
  BEGIN { tol["f32"] = 1e-5; tol["f16"] = 1e-2; tol["bf16"] = 3e-2
    nd = split("f32 f16 bf16", ds, " ") }
  !($2 in seen) { seen[$2] = 1; order[++n] = $2 }
  $4 == "max_rel_err" { v = $5 + 0; cell[$2, $3] = sprintf("%.2g%s", v, v > tol[$3] ? "!" : "");
    if (v > worst[$3]) worst[$3] = v; if (v > tol[$3]) over++; checked++ }
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
    printf "SUMMARY %d ops, %d checked, %d over tolerance, %d skipped;", n, checked, over, skipped
    printf " worst f32 %.2g, f16 %.2g, bf16 %.2g\n", worst["f32"], worst["f16"], worst["bf16"]
  }' >"$logs/op_table.txt"
if [ -s "$logs/op_table.txt" ]; then
  grep -v '^SUMMARY' "$logs/op_table.txt" | tee -a "$logs/gpu_check.txt"
  row "op table cuda vs cpu" "$(sed -n 's/^SUMMARY //p' "$logs/op_table.txt")"
else
  row "op table cuda vs cpu" "no 'op ... max_rel_err' lines (tests.log)"
fi

# The tests that set the allocator's reserved bytes against the device's used memory.
memory="$(sed -nE 's/.*\[ +(OK|FAILED|SKIPPED) +\] ([A-Za-z]+)\.ReservedBytes.*/\2 \1/p' \
  "$tests_log" | sort -u | paste -sd ',' | sed 's/,/, /g')"
row "reserved vs cudaMemGetInfo" "${memory:-not run}"

# ---------------------------------------------------------------- tally info, training
run_log="$logs/run.log"
say "-- tally info, training ($(left)s left)"
{
  echo "=== tally info --device cuda"
  in_tally_env step 10 30 "$bin/tally" info --device cuda ||
    in_tally_env step 10 30 "$bin/tally" info
} >"$run_log" 2>&1
overhead="$(grep -m1 -iE 'overhead|context' "$run_log" | sed 's/^ *//')"
[ -n "$overhead" ] || overhead="$(grep -m1 -E '^ *cuda(:[0-9]+)?:' "$run_log" | sed 's/^ *//')"
row "tally info" "${overhead:-failed (run.log)}"

dataset=(--dataset synthetic)
data_dir="${TALLY_DATA_DIR:-/usr/share/datasets/fashion-mnist}"
ls "$data_dir"/train-images-idx3-ubyte* >/dev/null 2>&1 && dataset=(--dataset fashion-mnist)
for device in cuda cpu; do
  {
    echo "=== tally train --model mlp --device $device --steps 300 ${dataset[*]} --json"
    in_tally_env step 15 120 "$bin/tally" train --model mlp --device "$device" --steps 300 \
      "${dataset[@]}" --json >"$tmp/train-$device.json"
    cat "$tmp/train-$device.json"
  } >>"$run_log" 2>&1
done
train="$("$python" - "$tmp/train-cuda.json" "$tmp/train-cpu.json" 2>/dev/null <<'EOF'
import json, sys
def load(path):
    try:
        with open(path) as f:
            return json.loads(f.read().strip().splitlines()[-1])
    except Exception:
        return None
cuda, cpu = load(sys.argv[1]), load(sys.argv[2])
if not cuda:
    print("FAILED (run.log)")
    sys.exit()
mib = lambda b: b / 2**20
line = (f"loss {cuda['final_loss']:.4f}, {cuda['samples_per_s']:.0f} samples/s, "
        f"acc {cuda['test_accuracy']:.3f}, peak alloc {mib(cuda['peak_allocated_bytes']):.2f} MiB")
if cpu:
    same = cpu["peak_allocated_bytes"] == cuda["peak_allocated_bytes"]
    line += (f"; cpu: loss {cpu['final_loss']:.4f}, peak {mib(cpu['peak_allocated_bytes']):.2f} MiB"
             f" ({'same' if same else 'DIFFERS'})")
print(line)
EOF
)"
row "train mlp, 300 steps on cuda" "${train:-FAILED (run.log)}"
[[ "$train" == FAILED* || -z "$train" ]] && status=1

# sim:cuda's prediction of a cuda run, given the cuDNN choices that run logged: equal peaks.
preset=h100-80gb
[[ "$gpu" == *H200* ]] && preset=h200-141gb
cnn=(--model cnn --optimizer adamw --batch 128 --steps 2)
{
  echo "=== tally train ${cnn[*]} --device cuda, then tally estimate --device-preset $preset"
  in_tally_env step 15 120 "$bin/tally" train "${cnn[@]}" --device cuda "${dataset[@]}" \
    --conv-log "$tmp/conv.csv" --json >"$tmp/train-cnn.json" &&
    in_tally_env step 5 30 "$bin/tally" estimate "${cnn[@]}" --device-preset "$preset" \
      --conv-workspace "$tmp/conv.csv" --json >"$tmp/estimate-cnn.json"
  cat "$tmp/conv.csv" "$tmp/train-cnn.json" "$tmp/estimate-cnn.json"
} >>"$run_log" 2>&1
predicted="$("$python" - "$tmp/train-cnn.json" "$tmp/estimate-cnn.json" 2>/dev/null <<'EOF'
import json, sys
ran, est = (json.loads(open(p).read().strip().splitlines()[-1]) for p in sys.argv[1:3])
keys = ("peak_allocated_bytes", "peak_reserved_bytes")
verdict = "EXACT" if all(ran[k] == est[k] for k in keys) else "DIFFERS"
print(f"{verdict}: cuda {' / '.join(str(ran[k]) for k in keys)}, "
      f"sim {' / '.join(str(est[k]) for k in keys)} (allocated / reserved)")
EOF
)"
row "estimate vs cuda (cnn adamw)" "${predicted:-FAILED (run.log)}"

# ---------------------------------------------------------------- benchmarks
bench_log="$logs/bench.log"
: >"$bench_log"
say "-- benchmarks ($(left)s left)"
if [ -x "$bin/tally_cuda_bench" ]; then
  in_tally_env step 30 150 "$bin/tally_cuda_bench" >>"$bench_log" 2>&1 ||
    echo "tally_cuda_bench: exit $?" >>"$bench_log"
  while IFS='|' read -r label text; do
    row "${label% }" "${text# }"
  done < <(sed -n 's/^result //p' "$bench_log")
else
  row "cuda bench" "not built ($bin/tally_cuda_bench)"
fi
if [ -x "$bin/tally_train_step_bench" ] && [ -n "$python" ]; then
  cat >"$tmp/tally_train_step_bench" <<EOF
#!/bin/sh
LD_LIBRARY_PATH='$tally_ld' exec '$(cd "$bin" && pwd)/tally_train_step_bench' "\$@"
EOF
  chmod +x "$tmp/tally_train_step_bench"
  step 60 200 "$python" bench/compare_torch.py "$tmp/tally_train_step_bench" --device cuda \
    --models mlp,cnn --warmup 10 --steps 50 --rounds 2 >>"$bench_log" 2>&1 ||
    echo "compare_torch: exit $?" >>"$bench_log"
  compared=0
  while read -r model batch _ rest; do
    compared=1
    if [[ "$rest" == FAILED* ]]; then
      row "$model b$batch step vs pytorch" "${rest:0:90}"
      continue
    fi
    read -r tally_ms torch_ms ratio _ verdict <<<"$rest"
    row "$model b$batch step vs pytorch" \
      "$ratio (<= 1) $verdict; tally $tally_ms ms, torch $torch_ms ms"
  done < <(grep -E '^(mlp|cnn) +[0-9]+ ' "$bench_log")
  ((compared)) || row "step vs pytorch" "$(grep -m1 '^compare_torch' "$bench_log" | cut -c1-90)"
fi

print_summary
exit $status
