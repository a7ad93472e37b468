#!/usr/bin/env bash
# Builds (-c opt) and runs Kiln's benchmark binary; arguments go to the binary, e.g.
#   benchmarks/run.sh --benchmark_filter='W1|W2'
#   benchmarks/run.sh --benchmark_format=json --benchmark_out=bench.json
#   benchmarks/run.sh --skip_check --baseline_reps=5
#
# OPENBLAS_CORETYPE and OPENBLAS_L2_SIZE are removed from the environment: the development
# machines export OPENBLAS_CORETYPE=Haswell, which makes OpenBLAS pick its Haswell kernels and
# halves cblas_sgemm (both Kiln's matmul and the sgemm baseline). `bazel run` hands the client's
# environment to the program, so unsetting them for bazel is enough.
#
# Extra bazel flags go in KILN_BENCH_BAZEL_FLAGS, e.g. KILN_BENCH_BAZEL_FLAGS='--define kiln_bench_torch=off'.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
# Re-detect the optional @torch repository, so that a LibTorch installed since the last build
# gets its columns (and one removed since is not linked).
bazel sync --configure >/dev/null 2>&1 || true
# shellcheck disable=SC2086
exec env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE \
  bazel run -c opt ${KILN_BENCH_BAZEL_FLAGS:-} //benchmarks:kiln_bench -- "$@"
