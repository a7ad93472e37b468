#include "benchmarks/bench_common.h"

#include <cblas.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <thread>
#include <vector>

namespace kiln_bench {

const char* WorkName(Work w) {
  switch (w) {
    case Work::W1:
      return "W1_gelu";
    case Work::W2:
      return "W2_softmax";
    case Work::W3:
      return "W3_layernorm";
    case Work::Matmul:
      return "W4_matmul";
    case Work::Linear:
      return "W4_linear_relu";
    case Work::Mlp:
      return "W5_mlp_train";
  }
  return "?";
}

bool IsMemoryBound(Work w) { return w == Work::W1 || w == Work::W2 || w == Work::W3; }

int64_t CopyFloats(Work w) {
  switch (w) {
    case Work::W1:
      return kW1Numel;
    case Work::W2:
      return kW2Rows * kW2Cols;
    case Work::W3:
      return kW3Rows * kW3Cols;
    default:
      return 0;
  }
}

double WorkBytes(Work w) {
  double b = 2.0 * sizeof(float) * static_cast<double>(CopyFloats(w));  // read x, write y
  if (w == Work::W3) b += 2.0 * sizeof(float) * kW3Cols;                // + weight, bias
  return b;
}

std::vector<GemmShape> MlpGemms() {
  constexpr int64_t B = kMlpBatch, I = kMlpIn, H1 = kMlpHidden1, H2 = kMlpHidden2, C = kMlpClasses;
  return {
      {false, false, B, H1, I, "x w1"},          {false, false, B, H2, H1, "h1 w2"},
      {false, false, B, C, H2, "h2 w3"},         {true, false, H2, C, B, "dw3 = h2^T g3"},
      {false, true, B, H2, C, "dh2 = g3 w3^T"},  {true, false, H1, H2, B, "dw2 = h1^T g2"},
      {false, true, B, H1, H2, "dh1 = g2 w2^T"}, {true, false, I, H1, B, "dw1 = x^T g1"},
  };
}

double WorkFlops(Work w) {
  if (w == Work::Matmul) return 2.0 * kMmM * kMmN * kMmK;
  if (w == Work::Linear) return 2.0 * kLinBatch * kLinOut * kLinIn;
  if (w == Work::Mlp) {
    double f = 0;
    for (const GemmShape& g : MlpGemms()) f += 2.0 * g.m * g.n * g.k;
    return f;
  }
  return 0;
}

// --- Two threads for the copy baseline: the caller + one persistent worker that blocks (futex
// wait through std::atomic::wait) between jobs, like Kiln's pool; it never spins while idle. ---
namespace {

class TwoThreads {
 public:
  TwoThreads() : worker_([this] { Loop(); }) {}
  ~TwoThreads() {
    stop_.store(true);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_one();
    worker_.join();
  }
  // Runs fn(0) here and fn(1) on the worker; returns when both are done.
  void Run(const std::function<void(int)>& fn) {
    fn_ = &fn;
    done_.store(false, std::memory_order_relaxed);
    generation_.fetch_add(1, std::memory_order_release);
    generation_.notify_one();
    fn(0);
    while (!done_.load(std::memory_order_acquire)) done_.wait(false, std::memory_order_acquire);
  }

 private:
  void Loop() {
    uint64_t seen = 0;
    for (;;) {
      generation_.wait(seen, std::memory_order_acquire);
      seen = generation_.load(std::memory_order_acquire);
      if (stop_.load()) return;
      (*fn_)(1);
      done_.store(true, std::memory_order_release);
      done_.notify_one();
    }
  }

  const std::function<void(int)>* fn_ = nullptr;
  std::atomic<uint64_t> generation_{0};
  std::atomic<bool> done_{false};
  std::atomic<bool> stop_{false};
  std::thread worker_;
};

TwoThreads& Pool() {
  static TwoThreads* pool = new TwoThreads();  // never destroyed: blocked until exit
  return *pool;
}

// A copy loop with ordinary (write-allocate) stores. GCC would turn it into a memcpy call
// (-ftree-loop-distribute-patterns), which is the other baseline, so that is switched off here.
__attribute__((noinline, optimize("no-tree-loop-distribute-patterns"))) void LoopCopy(const float* __restrict in,
                                                                                      float* __restrict out,
                                                                                      int64_t n) {
  for (int64_t i = 0; i < n; ++i) out[i] = in[i];
}

void CopyRange(const float* in, float* out, int64_t begin, int64_t end, bool loop) {
  if (loop)
    LoopCopy(in + begin, out + begin, end - begin);
  else
    std::memcpy(out + begin, in + begin, static_cast<size_t>(end - begin) * sizeof(float));
}

struct Aligned {
  void operator()(float* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<float[], Aligned>;

Buffer AllocTouched(int64_t n, float value) {
  size_t bytes = (static_cast<size_t>(n) * sizeof(float) + 63) / 64 * 64;
  auto* p = static_cast<float*>(std::aligned_alloc(64, bytes));
  if (p == nullptr) throw std::bad_alloc();
  std::fill(p, p + n, value);  // faults every page in now
  return Buffer(p);
}

float* Scratch(std::map<int64_t, Buffer>& m, int64_t n, float value) {
  auto it = m.find(n);
  if (it == m.end()) it = m.emplace(n, AllocTouched(n, value)).first;
  return it->second.get();
}

// Operands for the sgemm baselines.
struct Gemm {
  Buffer a, b, c, x, w, y;
  // W5: A, B and C of each of MlpGemms(), in that order. Separate buffers, where the step reuses
  // one gemm's output as the next one's input; all of them together (5.5 MiB) stay in L3.
  std::vector<Buffer> mlp;
  Gemm()
      : a(AllocTouched(kMmM * kMmK, 0.5f)),
        b(AllocTouched(kMmK * kMmN, 0.25f)),
        c(AllocTouched(kMmM * kMmN, 0.f)),
        x(AllocTouched(kLinBatch * kLinIn, 0.5f)),
        w(AllocTouched(kLinOut * kLinIn, 0.25f)),
        y(AllocTouched(kLinBatch * kLinOut, 0.f)) {
    for (const GemmShape& g : MlpGemms()) {
      mlp.push_back(AllocTouched(g.m * g.k, 0.5f));
      mlp.push_back(AllocTouched(g.k * g.n, 0.25f));
      mlp.push_back(AllocTouched(g.m * g.n, 0.f));
    }
  }
};

Gemm& GemmBuffers() {
  static Gemm* g = new Gemm();
  return *g;
}

// cblas_sgemm alone on the shape of W4's Kiln workload: C = A B, and Y = X W^T (W stored
// [out, in], as x.matmul(w.t()) reads it); for W5 the step's 8 matmuls one after another.
void RunSgemm(Work w) {
  Gemm& g = GemmBuffers();
  if (w == Work::Mlp) {
    static const std::vector<GemmShape> shapes = MlpGemms();
    for (size_t i = 0; i < shapes.size(); ++i) {
      const GemmShape& s = shapes[i];
      cblas_sgemm(CblasRowMajor, s.trans_a ? CblasTrans : CblasNoTrans, s.trans_b ? CblasTrans : CblasNoTrans, s.m, s.n,
                  s.k, 1.f, g.mlp[3 * i].get(), s.trans_a ? s.m : s.k, g.mlp[3 * i + 1].get(), s.trans_b ? s.k : s.n,
                  0.f, g.mlp[3 * i + 2].get(), s.n);
    }
  } else if (w == Work::Matmul)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, kMmM, kMmN, kMmK, 1.f, g.a.get(), kMmK, g.b.get(), kMmN, 0.f,
                g.c.get(), kMmN);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, kLinBatch, kLinOut, kLinIn, 1.f, g.x.get(), kLinIn, g.w.get(),
                kLinIn, 0.f, g.y.get(), kLinOut);
}

void RunCopy(Work w, int threads, bool loop) {
  int64_t n = CopyFloats(w);
  ParallelCopy(ScratchIn(n), ScratchOut(n), n, threads, loop);
}

Baselines g_baselines;

template <typename F>
double MedianSeconds(int reps, F&& f, int warm_ups = 2) {
  for (int i = 0; i < warm_ups; ++i) f();
  std::vector<double> t;
  for (int r = 0; r < reps; ++r) {
    auto start = std::chrono::steady_clock::now();
    f();
    t.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
  }
  std::sort(t.begin(), t.end());
  return t[t.size() / 2];
}

}  // namespace

void RunOnTwoThreads(const std::function<void(int part)>& fn) { Pool().Run(fn); }

void ParallelCopy(const float* in, float* out, int64_t n, int threads, bool loop) {
  if (threads <= 1) return CopyRange(in, out, 0, n, loop);
  int64_t half = (n / 2 + 15) / 16 * 16;  // 64-byte aligned split
  Pool().Run([&](int part) {
    if (part == 0)
      CopyRange(in, out, 0, half, loop);
    else
      CopyRange(in, out, half, n, loop);
  });
}

namespace {
std::map<int64_t, Buffer> g_in, g_out;
}
float* ScratchIn(int64_t n) { return Scratch(g_in, n, 1.f); }
float* ScratchOut(int64_t n) { return Scratch(g_out, n, 0.f); }

const Baselines& baselines() { return g_baselines; }

void MeasureBaselines(int reps) {
  for (Work w : kAllWork) {
    int i = static_cast<int>(w);
    if (IsMemoryBound(w)) {
      g_baselines.copy_s[i] = MedianSeconds(reps, [&] { RunCopy(w, 2, false); });
      g_baselines.loop_copy_s[i] = MedianSeconds(reps, [&] { RunCopy(w, 2, true); });
    } else {
      g_baselines.sgemm_s[i] = MedianSeconds(reps, [&] { RunSgemm(w); });
    }
  }
  // OpenBLAS's workers spin for a while after a call; let them go to sleep before anything else
  // is timed.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
}

double AdjacentBaselineSeconds(Work w, bool loop) {
  return MedianSeconds(
      3, [&] { IsMemoryBound(w) ? RunCopy(w, 2, loop) : RunSgemm(w); }, /*warm_ups=*/1);
}

void SetCounters(benchmark::State& state, Work w, double seconds) {
  double iters = static_cast<double>(state.iterations());
  double per_iter = iters > 0 ? seconds / iters : 0;
  if (IsMemoryBound(w)) {
    state.SetBytesProcessed(static_cast<int64_t>(WorkBytes(w)) * state.iterations());
    state.counters["GB/s"] = per_iter > 0 ? WorkBytes(w) / per_iter * 1e-9 : 0;
    state.counters["x_copy"] = per_iter / AdjacentBaselineSeconds(w, false);
    state.counters["x_loopcopy"] = per_iter / AdjacentBaselineSeconds(w, true);
  } else {
    state.SetItemsProcessed(static_cast<int64_t>(WorkFlops(w)) * state.iterations());
    state.counters["GFLOP/s"] = per_iter > 0 ? WorkFlops(w) / per_iter * 1e-9 : 0;
    state.counters["x_sgemm"] = per_iter / AdjacentBaselineSeconds(w, false);
  }
}

void RegisterBaselineBenchmarks(Work w) {
  std::string prefix = std::string(WorkName(w)) + "/";
  auto reg = [&](const std::string& name, std::function<void()> body) {
    benchmark::RegisterBenchmark((prefix + name).c_str(),
                                 [w, body](benchmark::State& state) { SetCounters(state, w, TimedLoop(state, body)); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  };
  if (IsMemoryBound(w)) {
    reg("copy_memcpy_2t", [w] { RunCopy(w, 2, false); });
    reg("copy_loop_2t", [w] { RunCopy(w, 2, true); });
    if (w == Work::W1) reg("copy_memcpy_1t", [w] { RunCopy(w, 1, false); });
  } else {
    reg("sgemm", [w] { RunSgemm(w); });
  }
}

}  // namespace kiln_bench
