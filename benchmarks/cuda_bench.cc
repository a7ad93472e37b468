// The GPU columns: W1-W3 fused and unfused on cuda:0 beside the device's own copy bandwidth (a
// device-to-device cuMemcpy of the bytes the workload must move), W4's matmul beside cuBLAS
// called alone, and W5's training step fused and unfused, all measured in the same run. On a machine without a GPU it says so and measures
// nothing. Run it with benchmarks/run_cuda.sh (tools/gpu_check.sh does, on a machine with a GPU).
//
// Each timed iteration records the graph, evaluates it and waits for the device (launches are
// asynchronous), so recording and launch overhead are included, as on the CPU.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "benchmarks/bench_common.h"
#include "ir/ops.h"
#include "kiln/cuda.h"
#include "kiln/kiln.h"
#include "kiln/nn.h"
#include "runtime/cuda/allocator.h"
#include "runtime/cuda/cublas.h"
#include "runtime/cuda/device.h"

namespace kiln_bench {
namespace {

const kiln::Device kGpu(kiln::kCUDA, 0);

std::vector<kiln::Tensor> GpuInputs(Work w) {
  kiln::TensorOptions on = kiln::device(kGpu);
  std::vector<kiln::Tensor> t;
  switch (w) {
    case Work::W1: t = {kiln::randn({kW1Numel}, on)}; break;
    case Work::W2: t = {kiln::randn({kW2Rows, kW2Cols}, on)}; break;
    case Work::W3: t = {kiln::randn({kW3Rows, kW3Cols}, on), kiln::randn({kW3Cols}, on), kiln::randn({kW3Cols}, on)}; break;
    default: t = {kiln::randn({kMmM, kMmK}, on), kiln::randn({kMmK, kMmN}, on)}; break;
  }
  kiln::eval(t);
  return t;
}

kiln::Tensor Run(Work w, const std::vector<kiln::Tensor>& t) {
  switch (w) {
    case Work::W1: return kiln::gelu(t[0] * 1.5 + 0.5, "tanh") * kiln::sigmoid(t[0]);
    case Work::W2: return kiln::softmax(t[0], 1);
    case Work::W3: {
      kiln::Tensor d = t[0] - t[0].mean({1}, true);
      return d * kiln::rsqrt((d * d).mean({1}, true) + 1e-5) * t[1] + t[2];
    }
    default: return t[0].matmul(t[1]);
  }
}

double Seconds(const std::function<void()>& body, benchmark::State& state) {
  body();  // warm-up: compiles, and fills the allocator's cache
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) body();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// The device's copy of `bytes` (half read, half written), timed once, median of 5.
double CopySeconds(double bytes) {
  auto& memory = kiln::runtime::cuda::device_allocator(0);
  size_t half = static_cast<size_t>(bytes / 2);
  auto in = memory.allocate(half), out = memory.allocate(half);
  std::vector<double> t;
  for (int i = 0; i < 6; ++i) {
    auto start = std::chrono::steady_clock::now();
    memory.copy(out->data(), in->data(), half);
    kiln::cuda::synchronize();
    if (i) t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

void Kiln(benchmark::State& state, Work w, bool fused) {
  kiln::FusionGuard fusion(fused);
  std::vector<kiln::Tensor> in = GpuInputs(w);
  double s = Seconds([&] { Run(w, in).eval(); kiln::cuda::synchronize(); }, state);
  double per = s / static_cast<double>(state.iterations());
  if (IsMemoryBound(w)) {
    state.counters["GB/s"] = WorkBytes(w) / per / 1e9;
    state.counters["x_copy"] = per / CopySeconds(WorkBytes(w));  // 1/x_copy: fraction of copy bandwidth
  } else {
    state.counters["GFLOP/s"] = WorkFlops(w) / per / 1e9;
  }
}

void Copy(benchmark::State& state, Work w) {
  auto& memory = kiln::runtime::cuda::device_allocator(0);
  size_t half = static_cast<size_t>(WorkBytes(w) / 2);
  auto in = memory.allocate(half), out = memory.allocate(half);
  double s = Seconds([&] { memory.copy(out->data(), in->data(), half); kiln::cuda::synchronize(); }, state);
  state.counters["GB/s"] = WorkBytes(w) / (s / static_cast<double>(state.iterations())) / 1e9;
}

// W5 on the device: one SGD step of the 784-256-128-10 MLP (forward, backward, update) with the
// parameters kept between iterations, fused or unfused; its matmuls go to cuBLAS.
void MlpStep(benchmark::State& state, bool fused) {
  kiln::FusionGuard fusion(fused);
  kiln::TensorOptions on = kiln::device(kGpu);
  int64_t dims[] = {kMlpIn, kMlpHidden1, kMlpHidden2, kMlpClasses};
  kiln::Tensor x = kiln::randn({kMlpBatch, kMlpIn}, on).eval();
  kiln::Tensor target = kiln::nn::functional::one_hot(kiln::randint(0, kMlpClasses, {kMlpBatch}, on), kMlpClasses).to(kiln::kFloat32).eval();
  std::vector<kiln::Tensor> p;
  for (int l = 0; l < 3; ++l) {
    p.push_back((kiln::randn({dims[l], dims[l + 1]}, on) * (1.0 / std::sqrt(double(dims[l])))).eval().requires_grad_());
    p.push_back((kiln::randn({dims[l + 1]}, on) * 0.1).eval().requires_grad_());
  }
  auto step = [&] {
    kiln::Tensor h1 = kiln::relu(x.matmul(p[0]) + p[1]), h2 = kiln::relu(h1.matmul(p[2]) + p[3]);
    kiln::Tensor loss = -(kiln::log_softmax(h2.matmul(p[4]) + p[5], 1) * target).sum() / double(kMlpBatch);
    loss.backward();
    kiln::NoGradGuard no_grad;
    for (kiln::Tensor& q : p) {
      q.sub_(q.grad() * kMlpLr);
      q.mutable_grad() = kiln::Tensor();
    }
    kiln::eval(p);
    kiln::cuda::synchronize();
  };
  double s = Seconds(step, state);
  state.counters["GFLOP/s"] = WorkFlops(Work::Mlp) / (s / static_cast<double>(state.iterations())) / 1e9;
}

// A buffer node over device memory the caller keeps alive (it only describes the operand).
kiln::ir::NodePtr DeviceOperand(const kiln::Tensor& t) {
  auto& memory = kiln::runtime::cuda::device_allocator(0);
  size_t bytes = static_cast<size_t>(t.numel()) * sizeof(float);
  auto storage = kiln::ir::Storage::on_device(t.data_ptr<float>(), bytes, &memory, [](void*) {});
  return kiln::ir::buffer(std::move(storage), t.sizes().vec(), kiln::kFloat32, {}, kGpu);
}

// cuBLAS alone on W4's operands, with no recording or scheduling around it.
void Cublas(benchmark::State& state) {
  std::vector<kiln::Tensor> in = GpuInputs(Work::Matmul);
  kiln::ir::NodePtr product = kiln::ir::matmul(DeviceOperand(in[0]), DeviceOperand(in[1]), {});
  auto out = kiln::runtime::cuda::device_allocator(0).allocate(static_cast<size_t>(kMmM * kMmN) * sizeof(float));
  const auto& device = kiln::runtime::cuda::cuda_device(0, "cuda_bench");
  const void* a = in[0].data_ptr<float>();
  const void* b = in[1].data_ptr<float>();
  double s = Seconds(
      [&] {
        kiln::runtime::cuda::cublas_matmul(device, *product, a, b, out->data(), false, false);
        kiln::cuda::synchronize();
      },
      state);
  state.counters["GFLOP/s"] = WorkFlops(Work::Matmul) / (s / static_cast<double>(state.iterations())) / 1e9;
}

}  // namespace
}  // namespace kiln_bench

int main(int argc, char** argv) {
  using namespace kiln_bench;
  if (!kiln::cuda::is_available()) {
    std::printf("no CUDA device (kiln::cuda::is_available() is false): nothing to measure\n");
    return 0;
  }
  const auto& d = kiln::runtime::cuda::cuda_device(0, "cuda_bench");
  std::printf("device: %s, sm_%d, %d multiprocessors\n", d.name().c_str(), d.compute_capability(), d.multiprocessors());
  for (Work w : {Work::W1, Work::W2, Work::W3, Work::Matmul}) {
    std::string name = WorkName(w);
    benchmark::RegisterBenchmark((name + "/cuda_fused").c_str(), Kiln, w, true)->UseRealTime();
    benchmark::RegisterBenchmark((name + "/cuda_unfused").c_str(), Kiln, w, false)->UseRealTime();
    if (IsMemoryBound(w)) benchmark::RegisterBenchmark((name + "/cuda_copy").c_str(), Copy, w)->UseRealTime();
  }
  benchmark::RegisterBenchmark("W4_matmul/cublas", Cublas)->UseRealTime();
  benchmark::RegisterBenchmark("W5_mlp_train/cuda_fused", MlpStep, true)->UseRealTime();
  benchmark::RegisterBenchmark("W5_mlp_train/cuda_unfused", MlpStep, false)->UseRealTime();
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
