# shellcheck shell=bash
# What scripts/gpu_check.sh needs to know about the machine it runs on, and how it builds there
# when no pack was carried. Sourced, not run: it defines functions and, in survey_machine, the
# variables the check reads (gpu, arch, machine_line, tally_ld and the libraries' paths). It
# prints through the caller's `say`, and build_from_source runs under the caller's `step`.

first() {  # the first argument that names an existing path
  for p in "$@"; do [ -n "$p" ] && [ -e "$p" ] && echo "$p" && return 0; done
  return 1
}

# Every copy of library NAME, in order of preference: the given folders, the toolkit's, the
# loader's cache, then the Python environment's nvidia/*/lib folders (PyTorch's wheels).
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

# The loader path of every tally process: the pack's or the unpacked packages' libraries first,
# then the CUDA libraries' folders. Only tally's processes get it: PyTorch keeps its own copies.
tally_ld="${LD_LIBRARY_PATH:-}"
add_ld() {
  local dir="$1"
  [ -n "$dir" ] || return 0
  [[ "$dir" == /* ]] || dir="$PWD/$dir"
  tally_ld="$dir${tally_ld:+:$tally_ld}"
}
in_tally_env() { LD_LIBRARY_PATH="$tally_ld" "$@"; }

survey_machine() {
  smi="$(first "$(command -v nvidia-smi)" /usr/local/nvidia/bin/nvidia-smi /usr/bin/nvidia-smi)"
  gpu=""
  if [ -n "$smi" ]; then
    # Drivers older than compute_cap's introduction refuse the whole query.
    gpu="$("$smi" --query-gpu=name,memory.total,driver_version,compute_cap \
      --format=csv,noheader 2>/dev/null | head -1)" ||
      gpu="$("$smi" --query-gpu=name,memory.total,driver_version --format=csv,noheader | head -1)"
    # Without a GPU it answers in prose ("No devices were found") rather than in fields.
    [[ "$gpu" == *,* ]] || gpu=""
  fi
  arch="$(echo "$gpu" | awk -F', *' '{ gsub(/\./, "", $4); print $4 }')"
  arch="${arch:-${CUDA_ARCH:-90}}"

  nvcc="$(first "${CUDACXX:-}" "$(command -v nvcc)" /usr/local/cuda/bin/nvcc)"
  nvcc_version="" cuda_home=""
  if [ -n "$nvcc" ]; then
    nvcc_version="$("$nvcc" --version | sed -n 's/.*release [0-9.]*, V\([0-9.]*\).*/\1/p')"
    cuda_home="$(cd "$(dirname "$(readlink -f "$nvcc")")/.." && pwd)"
  fi
  py_nvidia=()
  mapfile -t py_nvidia < <(python3 -c 'import os, sys
for d in sorted({os.path.join(p, "nvidia") for p in sys.path if p}):
    if os.path.isdir(d): print(d)' 2>/dev/null)

  # cuDNN: the first library with headers beside it, so that the two are one version.
  cudnn_lib="" cudnn_inc=""
  local lib
  while read -r lib; do
    [ -n "$lib" ] || continue
    [ -n "$cudnn_lib" ] || cudnn_lib="$lib"
    if [ -f "$(dirname "$lib")/../include/cudnn.h" ]; then
      cudnn_lib="$lib"
      cudnn_inc="$(cd "$(dirname "$lib")/../include" && pwd)"
      break
    fi
  done < <(find_libs libcudnn.so.9 "${TALLY_CUDNN_ROOT:+$TALLY_CUDNN_ROOT/lib}")
  if [ -z "$cudnn_inc" ]; then
    local header
    header="$(first "$cuda_home/include/cudnn.h" /usr/include/cudnn.h /usr/local/include/cudnn.h \
      /usr/include/x86_64-linux-gnu/cudnn.h)" && cudnn_inc="$(dirname "$header")"
  fi
  # NCCL: loaded by tally at run time, so only the library's folder is needed (and its headers
  # beside it for a build from source).
  nccl_lib="$(find_libs libnccl.so.2 "${TALLY_NCCL_ROOT:+$TALLY_NCCL_ROOT/lib}" | head -1)"
  [ -z "$nccl_lib" ] || add_ld "$(dirname "$nccl_lib")"
  local major="${nvcc_version%%.*}"
  cublas_lib="$(find_libs "libcublas.so.${major:-13}" | head -1)"
  cudart_lib="$(find_libs "libcudart.so.${major:-13}" | head -1)"
  for lib in "$cudart_lib" "$cublas_lib" "$cudnn_lib"; do
    [ -n "$lib" ] && add_ld "$(dirname "$lib")"
  done
  local cudnn_version torch
  cudnn_version="$(version_of "$cudnn_inc/cudnn_version.h" CUDNN)"
  torch="$(python3 -c 'import importlib.metadata as m; print("torch", m.version("torch"))' \
    2>/dev/null || echo "no torch")"
  local missing="MISSING"
  say "== tally GPU check: what this machine has"
  say "gpu       ${gpu:-none (nvidia-smi ${smi:-not found})}"
  say "nvcc      ${nvcc:-$missing} ${nvcc_version}"
  say "cudart    ${cudart_lib:-$missing}"
  say "cublas    ${cublas_lib:-$missing}"
  say "cudnn     ${cudnn_lib:-$missing} ${cudnn_version} (headers ${cudnn_inc:-$missing})"
  say "nccl      ${nccl_lib:-none (the NCCL step will say so)}"
  say "system    $(nproc) cores; glibc $(ldd --version 2>/dev/null | awk 'NR == 1 { print $NF }');" \
    "$(sed -n 's/^PRETTY_NAME="\{0,1\}\([^"]*\)"\{0,1\}$/\1/p' /etc/os-release 2>/dev/null)"
  say "python3   $(command -v python3) ($torch)"
  # shellcheck disable=SC2034  # read by gpu_check.sh's summary
  machine_line="${gpu:-no GPU}; CUDA ${nvcc_version:-?}, cuDNN ${cudnn_version:-?}, $torch"
}

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

# build_from_source BUILD_DIR DEBS_DIR: configures and builds tally for this GPU with the
# machine's compiler and toolkit, and tally's other dependencies from DEBS_DIR's packages
# unpacked into a private prefix (TALLY_DEPS_PREFIX, never /). Its last line says how it went.
build_from_source() {
  local dir="$1" debs_dir="$2" prefix="${TALLY_DEPS_PREFIX:-/tmp/tally-deps}" t0=$SECONDS deb
  local debs=() args=(-DCMAKE_BUILD_TYPE=Release -DTALLY_CUDA=ON -DTALLY_MPI=OFF
    "-DCMAKE_CUDA_ARCHITECTURES=$arch")
  [ -d "$debs_dir" ] && mapfile -t debs < <(find "$debs_dir" -maxdepth 1 -name '*.deb' | sort)
  if [ -z "$nvcc" ] || [ -z "$cudnn_lib" ] || [ -z "$cudnn_inc" ] || ! command -v cmake >/dev/null
  then
    echo "not possible: nvcc, cuDNN with its headers, or cmake missing"
    return 1
  fi
  args+=("-DCMAKE_CUDA_COMPILER=$nvcc" "-DTALLY_CUDNN_LIBRARY=$cudnn_lib"
    "-DTALLY_CUDNN_INCLUDE=$cudnn_inc")
  [ -z "$nccl_lib" ] || args+=("-DTALLY_NCCL_ROOT=$(dirname "$(dirname "$nccl_lib")")")
  if ((${#debs[@]})); then
    if [ -e "$prefix" ] && [ ! -e "$prefix/.tally-deps" ]; then
      echo "not unpacked: $prefix was not made by this script (set TALLY_DEPS_PREFIX)"
      return 1
    fi
    rm -rf "$prefix" && mkdir -p "$prefix" && : >"$prefix/.tally-deps"
    for deb in "${debs[@]}"; do
      unpack_deb "$deb" "$prefix" || { echo "FAILED to unpack $deb" && return 1; }
    done
    local usr="$prefix/usr" multiarch="$prefix/usr/lib/x86_64-linux-gnu" libz
    add_ld "$multiarch"
    add_ld "$multiarch/openblas-pthread"
    args+=("-DCMAKE_PREFIX_PATH=$usr" "-DGTest_DIR=$multiarch/cmake/GTest"
      "-Dbenchmark_DIR=$multiarch/cmake/benchmark"
      "-Dnlohmann_json_DIR=$usr/share/cmake/nlohmann_json"
      "-DBLAS_openblas_LIBRARY=$multiarch/openblas-pthread/libopenblas.so"
      "-DTALLY_CBLAS_INCLUDE=$usr/include/x86_64-linux-gnu/openblas-pthread"
      "-DZLIB_INCLUDE_DIR=$usr/include" "-DCMAKE_CXX_FLAGS=-isystem $usr/include")
    # zlib1g-dev's libz.so names Debian 12's runtime file: link the machine's own libz.so.1.
    libz="$(find_libs libz.so.1 | head -1)"
    [ -n "$libz" ] && args+=("-DZLIB_LIBRARY=$libz")
  fi
  local generator=(-G Ninja)
  command -v ninja >/dev/null || generator=(-G "Unix Makefiles")
  in_tally_env step 60 240 cmake -S . -B "$dir" "${generator[@]}" "${args[@]}" ||
    { echo "configure FAILED" && return 1; }
  in_tally_env step 60 "$(($(left) - 150))" cmake --build "$dir" --parallel "$(nproc)" ||
    { echo "FAILED after $((SECONDS - t0)) s" && return 1; }
  echo "built in $((SECONDS - t0)) s for sm_$arch with ${#debs[@]} carried packages"
}
