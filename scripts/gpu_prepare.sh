#!/usr/bin/env bash
# Gathers, on a Debian 12 machine with internet access, what scripts/gpu_check.sh needs on a GPU
# machine that has none (see docs/gpu.md). Two ways, either one is enough:
#
#   scripts/gpu_prepare.sh debs [DIR]      the .deb files of tally's build dependencies into DIR
#                                          (default .deps, git-ignored; about 14 MB). gpu_check.sh
#                                          unpacks them into a private prefix there and builds.
#   scripts/gpu_prepare.sh prebuilt [DIR]  builds here for sm_90 (H100/H200) into DIR (default
#                                          build-gpu) and packs what gpu_check.sh runs, with the
#                                          shared libraries a bare machine lacks, into
#                                          DIR/prebuilt.tar.gz (about 20 MB). gpu_check.sh then
#                                          only runs the binaries: carry that file.
#
# Both end by printing the size of what is to be carried.
set -euo pipefail
cd "$(dirname "$0")/.." || exit 2

# Everything the configure and build need beyond a C++ compiler, CMake, the CUDA toolkit and cuDNN,
# plus the runtime libraries OpenBLAS pulls in that a machine without Fortran lacks. zlib's own
# runtime is not among them: every Linux has libz.so.1, and a second copy could shadow it.
debs=(
  libgtest-dev libgmock-dev libbenchmark-dev libbenchmark1debian libcli11-dev nlohmann-json3-dev
  libopenblas-pthread-dev libopenblas0-pthread libgfortran5 libquadmath0 zlib1g-dev
)
# What the prebuilt binaries load that a machine with only the CUDA driver, cuBLAS and cuDNN lacks.
prebuilt_libs=(libcudart.so.13 libopenblas.so.0 libgfortran.so.5 libquadmath.so.0)

usage() {
  awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"
  exit 2
}

download_debs() {
  local dir="$1"
  if [ "$(dpkg --print-architecture)" != amd64 ]; then
    echo "gpu_prepare: this machine is $(dpkg --print-architecture); the GPU machine needs amd64" \
      "packages: run this on an amd64 Debian 12 machine" >&2
    exit 1
  fi
  mkdir -p "$dir"
  # Old versions would be unpacked beside the new ones.
  rm -f "$dir"/*.deb
  if ! (cd "$dir" && apt-get download "${debs[@]}"); then
    echo "gpu_prepare: refreshing the package lists and trying again"
    apt-get update
    (cd "$dir" && apt-get download "${debs[@]}")
  fi
  echo
  find "$dir" -maxdepth 1 -name '*.deb' -printf '%s %p\n' | sort -k2 |
    awk '{ printf "  %8.1f KiB  %s\n", $1 / 1024, $2 }'
  echo "gpu_prepare: $(find "$dir" -name '*.deb' | wc -l) packages, $(du -sh "$dir" | cut -f1) in" \
    "$dir; carry \"$dir\" to the GPU machine"
}

build_prebuilt() {
  local dir="$1" launcher=()
  command -v ccache >/dev/null &&
    launcher=(-DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_CUDA_COMPILER_LAUNCHER=ccache)
  cmake -S . -B "$dir" -G Ninja -DCMAKE_BUILD_TYPE=Release -DTALLY_CUDA=ON -DTALLY_MPI=OFF \
    -DCMAKE_CUDA_ARCHITECTURES=90 "${launcher[@]}"
  cmake --build "$dir" --parallel
  # Only what gpu_check.sh runs, stripped, with the libraries, packed: the whole bin/ and lib/
  # would be about 100 MB, the pack is about 20.
  local dist="$dir/dist" lib path exe
  rm -rf "$dist" && mkdir -p "$dist/bin" "$dist/lib"
  for lib in "${prebuilt_libs[@]}"; do
    path="$(ldd "$dir/bin/tally" | awk -v lib="$lib" '$1 == lib && $3 ~ /^\// { print $3 }')"
    if [ -z "$path" ]; then
      echo "gpu_prepare: $dir/bin/tally does not load $lib here" >&2
      exit 1
    fi
    cp -L "$path" "$dist/lib/$lib"
  done
  # CTest files name this machine's paths, so the GPU machine runs the gpu-labelled test
  # executables directly: their names travel in this list.
  ctest --test-dir "$dir" -N -V -L gpu | sed -n 's/.*Test command: \([^ ]*\).*/\1/p' |
    xargs -r -n1 basename | sort -u >"$dist/bin/gpu-tests.txt"
  for exe in tally tally_cuda_bench tally_train_step_bench tally_allreduce_bench $(cat "$dist/bin/gpu-tests.txt"); do
    cp "$dir/bin/$exe" "$dist/bin/"
    strip --strip-unneeded "$dist/bin/$exe"
  done
  # The GPU machine gets a copy of the working tree without its history: the commit travels here.
  git describe --always --dirty >"$dist/bin/commit.txt" 2>/dev/null || echo unknown >"$dist/bin/commit.txt"
  tar -czf "$dir/prebuilt.tar.gz" -C "$dist" bin lib
  echo
  echo "gpu_prepare: gpu tests: $(tr '\n' ' ' <"$dist/bin/gpu-tests.txt")"
  echo "gpu_prepare: $(du -h "$dir/prebuilt.tar.gz" | cut -f1) to carry: \"$dir/prebuilt.tar.gz\"" \
    "(commit $(cat "$dist/bin/commit.txt"))"
}

case "${1:-}" in
  debs) download_debs "${2:-.deps}" ;;
  prebuilt) build_prebuilt "${2:-build-gpu}" ;;
  *) usage ;;
esac
