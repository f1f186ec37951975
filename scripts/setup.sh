#!/usr/bin/env bash
# Installs tally's build dependencies on Debian 12 (only those missing), then configures and
# builds. Safe to run again: a second run installs nothing and rebuilds incrementally.
#
#   scripts/setup.sh [BUILD_DIR] [CMAKE_ARGS...]     (BUILD_DIR defaults to build)
#
# The CUDA toolkit is optional and not installed here: when nvcc is on PATH, named by CUDACXX,
# or at /usr/local/cuda/bin/nvcc, the CUDA backend is built too (see TALLY_CUDA).
set -euo pipefail
cd "$(dirname "$0")/.."

packages=(
  cmake ninja-build g++ pkg-config python3
  libgtest-dev libbenchmark-dev libcli11-dev nlohmann-json3-dev
  libopenblas-dev zlib1g-dev dataset-fashion-mnist openmpi-bin libopenmpi-dev
)
missing=()
for package in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$package")
  fi
done
if ((${#missing[@]})); then
  sudo=""
  if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
  echo "setup: installing ${missing[*]}"
  $sudo apt-get update
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y --no-install-recommends "${missing[@]}"
fi

build_dir="${1:-build}"
shift || true
cmake -S . -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=Release "$@"
cmake --build "$build_dir" --parallel
