// Shared by the benchmark binary's parts (Kiln, LibTorch, baselines): the workload shapes, the
// machine's own limits measured at start-up (copy time, sgemm time), and the counters every
// benchmark reports. Plain C++17 + Google Benchmark: no Kiln or LibTorch headers here.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <string>

namespace kiln_bench {

// --- Workload shapes (float32) ---
inline constexpr int64_t kW1Numel = int64_t{1} << 24;                     // W1: gelu_tanh(x*1.5+0.5)*sigmoid(x)
inline constexpr int64_t kW2Rows = 4096, kW2Cols = 4096;                  // W2: softmax over rows
inline constexpr int64_t kW3Rows = 8192, kW3Cols = 1024;                  // W3: layernorm over rows (+ w, b)
inline constexpr int64_t kMmM = 1024, kMmN = 1024, kMmK = 1024;           // W4: matmul
inline constexpr int64_t kLinBatch = 256, kLinIn = 1024, kLinOut = 1024;  // W4: relu(x w^T + b)

enum class Work { W1, W2, W3, Matmul, Linear };
inline constexpr Work kAllWork[] = {Work::W1, Work::W2, Work::W3, Work::Matmul, Work::Linear};

const char* WorkName(Work w);  // "W1_gelu", ..., "W4_linear_relu" (benchmark name prefix)
bool IsMemoryBound(Work w);    // W1-W3: compared to a copy; W4: to cblas_sgemm
double WorkBytes(Work w);      // bytes one evaluation must read + write (W1-W3)
double WorkFlops(Work w);      // 2*M*N*K (W4)
int64_t CopyFloats(Work w);    // floats the matching copy baseline moves (in -> out)

// --- The machine's own limits ---
// Measured once at start-up (medians; printed in the header as context).
struct Baselines {
  double copy_s[5] = {};       // per Work: memcpy of CopyFloats(w) floats, 2 threads
  double loop_copy_s[5] = {};  // per Work: plain loop copy (ordinary stores), 2 threads
  double sgemm_s[5] = {};      // per Work: cblas_sgemm alone on the W4 shapes
};
const Baselines& baselines();
// Measures every baseline (each `reps` times after a warm-up) and keeps the medians.
void MeasureBaselines(int reps);

// The baseline for `w` measured now: median of 3 after a warm-up (memcpy, or the plain loop copy
// when `loop`; cblas_sgemm for W4). The ratio counters divide by it, measured right after each
// timed loop, so a machine whose speed drifts (other processes, a 2-core VM) compares like with
// like.
double AdjacentBaselineSeconds(Work w, bool loop);

// Copies n floats with `threads` threads (the calling thread + a persistent std::thread worker,
// as Kiln's pool does): memcpy per half (glibc uses non-temporal stores at these sizes), or a
// plain loop with ordinary stores when `loop` is set.
void ParallelCopy(const float* in, float* out, int64_t n, int threads, bool loop);

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
// W4: items_per_second (= FLOP/s), GFLOP/s, x_sgemm (time / sgemm time).
// Benchmarks also use real time (UseRealTime), as the work runs on several threads.
void SetCounters(benchmark::State& state, Work w, double seconds);

// Registers the baseline benchmarks (copy per W1-W3, sgemm per W4).
void RegisterBaselineBenchmarks(Work w);

// Kiln columns (kiln_workloads.cc): fused JIT (the default), unfused JIT, reference executor.
void RegisterKilnBenchmarks(Work w);
// Evaluates each workload on small shapes with the JIT (fused and unfused) and with the reference
// executor and compares; one line per workload and mode ("ok, max |diff| ..." or the error).
std::string CheckKiln();

// LibTorch columns: defined by torch_bench.cc when LibTorch is built in, else by torch_stub.cc.
void RegisterTorchBenchmarks(Work w);
bool TorchBuiltIn();
std::string TorchInfo();  // version / thread settings, or why it is absent

}  // namespace kiln_bench
