#!/usr/bin/env bash
# Installs every Debian package Kiln needs. Idempotent: does nothing when all are present.
set -euo pipefail

packages=(
  bazel-bootstrap g++ zlib1g-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  llvm-19-dev libmlir-19-dev mlir-19-tools
  libopenblas-dev libfmt-dev nlohmann-json3-dev libcli11-dev libeigen3-dev
  dataset-fashion-mnist python3-numpy gnuplot-nox graphviz
  clang-19 libfuzzer-19-dev libclang-rt-19-dev
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
echo "setup: installing ${missing[*]}"
"${sudo_cmd[@]}" apt-get update -q
DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
