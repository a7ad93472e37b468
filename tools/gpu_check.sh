#!/usr/bin/env bash
# The checks that need an NVIDIA GPU, as one script for a machine that has one (the `device` tool's
# machines): the CUDA backend's tests on the device, the Fashion-MNIST example trained on the GPU
# and on the CPU with the same seed (the accuracies should agree), and the GPU benchmarks. Prints
# the figures to record in docs/CUDA.md with the device's name. Assumes tools/setup.sh has run.
#   bash tools/gpu_check.sh            # everything (about 5 minutes on an H100)
#   EPOCHS=1 bash tools/gpu_check.sh   # a shorter training run
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
epochs="${EPOCHS:-2}"
out="${GPU_CHECK_OUT:-gpu_check}"
mkdir -p "$out"
status=0
nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv | tee "$out/device.txt" || status=1

echo "== the CUDA backend's tests on the device"
bazel test //tests:cuda_gpu_test //tests:cuda_backend_test --test_output=all 2>&1 | tee "$out/tests.txt" | tail -60
grep -q "cuda_gpu_test .*PASSED" "$out/tests.txt" || status=1

echo "== Fashion-MNIST, $epochs epochs, CPU then GPU (same seed)"
for device in cpu cuda; do
  bazel run -c opt //examples:fashion_mnist -- --device "$device" --epochs "$epochs" \
    --csv "$PWD/$out/fashion_mnist_$device.csv" --plot "$PWD/$out/fashion_mnist_$device.png" \
    --checkpoint-dir "$PWD/$out/checkpoint_$device" 2>&1 | tail -25 | tee "$out/fashion_mnist_$device.txt" || status=1
done

echo "== GPU benchmarks (W1-W3 fused/unfused vs the device's copy, W4 vs cuBLAS alone, W5)"
env -u OPENBLAS_CORETYPE bazel run -c opt //benchmarks:cuda_bench -- --benchmark_min_time=0.2 2>&1 |
  tee "$out/cuda_bench.txt" || status=1
echo "figures in $out/"
exit "$status"
