#!/usr/bin/env bash
# Builds (-c opt) and runs the per-epoch benchmark (epoch_bench.cc); arguments go to the binary,
# e.g. --steps=200 or --benchmark_filter=cnn. As run.sh: OpenBLAS's Haswell override is removed,
# and the @torch repository is re-detected so that a LibTorch installed since the last build
# gets its column.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bazel sync --configure >/dev/null 2>&1 || true
# shellcheck disable=SC2086
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
  bazel run -c opt ${KILN_BENCH_BAZEL_FLAGS:-} //benchmarks:epoch_bench -- "$@"
