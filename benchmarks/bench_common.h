// Shared by the benchmark binary's parts (Kiln, LibTorch, baselines): the workload shapes, the
// machine's own limits measured at start-up (copy time, sgemm time), and the counters every
// benchmark reports. Plain C++17 + Google Benchmark: no Kiln or LibTorch headers here.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <iterator>
#include <string>
#include <vector>

namespace kiln_bench {

// --- Workload shapes (float32) ---
inline constexpr int64_t kW1Numel = int64_t{1} << 24;                     // W1: gelu_tanh(x*1.5+0.5)*sigmoid(x)
inline constexpr int64_t kW2Rows = 4096, kW2Cols = 4096;                  // W2: softmax over rows
inline constexpr int64_t kW3Rows = 8192, kW3Cols = 1024;                  // W3: layernorm over rows (+ w, b)
inline constexpr int64_t kMmM = 1024, kMmN = 1024, kMmK = 1024;           // W4: matmul
inline constexpr int64_t kLinBatch = 256, kLinIn = 1024, kLinOut = 1024;  // W4: relu(x w^T + b)
// W5: one SGD step of a 3-layer MLP, 784 -> 256 -> 128 -> 10, weights stored [in, out].
inline constexpr int64_t kMlpBatch = 256, kMlpIn = 784, kMlpHidden1 = 256, kMlpHidden2 = 128, kMlpClasses = 10;
inline constexpr double kMlpLr = 0.01;

enum class Work { W1, W2, W3, Matmul, Linear, Mlp };
inline constexpr Work kAllWork[] = {Work::W1, Work::W2, Work::W3, Work::Matmul, Work::Linear, Work::Mlp};
inline constexpr int kNumWork = static_cast<int>(std::size(kAllWork));

const char* WorkName(Work w);  // "W1_gelu", ..., "W4_linear_relu", "W5_mlp_train" (benchmark name prefix)
bool IsMemoryBound(Work w);    // W1-W3: compared to a copy; W4, W5: to cblas_sgemm
double WorkBytes(Work w);      // bytes one evaluation must read + write (W1-W3)
double WorkFlops(Work w);      // 2*M*N*K (W4); W5: summed over the step's matmuls (MlpGemms)
int64_t CopyFloats(Work w);    // floats the matching copy baseline moves (in -> out)

// One cblas_sgemm of W5's step, row-major: C[m, n] = op(A)[m, k] op(B)[k, n], with the layouts
// Kiln hands to BLAS (a transposed operand is read in place through the transpose flag).
struct GemmShape {
  bool trans_a, trans_b;
  int64_t m, n, k;
  const char* what;
};
// W5's matmuls: 3 forward, and in the backward each weight's gradient (h^T g) and the gradient
// flowing into the two hidden layers (g w^T); none into x, which does not require grad: 8 in all.
std::vector<GemmShape> MlpGemms();

// --- The machine's own limits ---
// Measured once at start-up (medians; printed in the header as context).
struct Baselines {
  double copy_s[kNumWork] = {};       // per Work: memcpy of CopyFloats(w) floats, 2 threads
  double loop_copy_s[kNumWork] = {};  // per Work: plain loop copy (ordinary stores), 2 threads
  double sgemm_s[kNumWork] = {};      // per Work: cblas_sgemm alone on the W4 shapes, W5's 8 in a row
};
const Baselines& baselines();
// Measures every baseline (each `reps` times after a warm-up) and keeps the medians.
void MeasureBaselines(int reps);

// The baseline for `w` measured now: median of 3 after a warm-up (memcpy, or the plain loop copy
// when `loop`; cblas_sgemm for W4; for W5 its 8 sgemm calls one after another). The ratio
// counters divide by it, measured right after each timed loop, so a machine whose speed drifts
// (other processes, a 2-core VM) compares like with like.
double AdjacentBaselineSeconds(Work w, bool loop);

// Copies n floats with `threads` threads (the calling thread + a persistent std::thread worker,
// as Kiln's pool does): memcpy per half (glibc uses non-temporal stores at these sizes), or a
// plain loop with ordinary stores when `loop` is set.
void ParallelCopy(const float* in, float* out, int64_t n, int threads, bool loop);

// Runs fn(0) on the calling thread and fn(1) on the persistent worker ParallelCopy uses.
void RunOnTwoThreads(const std::function<void(int part)>& fn);

// Buffers for the baselines, faulted in once (no page faults inside timed loops).
float* ScratchIn(int64_t n);
float* ScratchOut(int64_t n);

// --- Counters ---
// Runs `body` once untimed (warm-up) unless `warm_up` is false, then as the benchmark's timed
// loop, and returns the loop's wall-clock seconds (for SetCounters).
template <typename F>
double TimedLoop(benchmark::State& state, F&& body, bool warm_up = true) {
  if (warm_up) body();
  auto start = std::chrono::steady_clock::now();
  for (auto _ : state) body();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// From the timed loop's wall-clock `seconds` (and baselines measured right after it):
// W1-W3: bytes_per_second, GB/s, x_copy (time / memcpy time), x_loopcopy (time / loop copy time);
// W4, W5: items_per_second (= FLOP/s), GFLOP/s, x_sgemm (time / sgemm time).
// Benchmarks also use real time (UseRealTime), as the work runs on several threads.
void SetCounters(benchmark::State& state, Work w, double seconds);

// Registers the baseline benchmarks (copy per W1-W3, sgemm per W4 and W5).
void RegisterBaselineBenchmarks(Work w);

// Kiln columns (kiln_workloads.cc): fused JIT (the default), unfused JIT, reference executor.
void RegisterKilnBenchmarks(Work w);
// Evaluates each workload on small shapes with the JIT (fused and unfused) and with the reference
// executor and compares; one line per workload and mode ("ok, max |diff| ..." or the error).
std::string CheckKiln();

// The Eigen column (eigen_bench.cc) for W1-W3: the same expressions as Eigen array code.
void RegisterEigenBenchmarks(Work w);
// Compares the Eigen column's W1-W3 with double-precision loops on small shapes ("ok, ..." or
// the mismatch).
std::string CheckEigen();

// W1's compute floor (compute_floor.cc): Kiln's W1 arithmetic as a hand-written AVX-512 loop,
// registered as W1_gelu/compute_floor; its check compares it with a double-precision loop.
void RegisterComputeFloorBenchmark();
std::string CheckComputeFloor();

// LibTorch columns: defined by torch_bench.cc when LibTorch is built in, else by torch_stub.cc.
void RegisterTorchBenchmarks(Work w);
bool TorchBuiltIn();
std::string TorchInfo();  // version / thread settings, or why it is absent

}  // namespace kiln_bench
