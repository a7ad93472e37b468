// The Kiln columns: each workload written once against the public API, run as
//   kiln_fused      JIT backend, fusion on (Kiln's defaults),
//   kiln_unfused    JIT backend, set_fusion(false): one kernel per primitive,
//   kiln_specialized  fused, set_runtime_extents(false): every extent compiled in (W1-W3, W5),
//   kiln_reference  set_backend(Reference): the plain-loop oracle (one iteration only: slow).
// Inputs are evaluated once, outside the timed loop; each iteration records the graph and
// evaluates the result (recording cost included), then drops it. W5 (a training step) keeps its
// parameters between iterations instead; see Mlp.
#include <algorithm>
#include <cmath>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "benchmarks/bench_common.h"
#include "kiln/kiln.h"

namespace kiln_bench {
namespace {

enum class Mode { Fused, Unfused, Specialized, Reference };

const char* ModeName(Mode m) {
  switch (m) {
    case Mode::Fused:
      return "kiln_fused";
    case Mode::Unfused:
      return "kiln_unfused";
    case Mode::Specialized:
      return "kiln_specialized";
    case Mode::Reference:
      return "kiln_reference";
  }
  return "?";
}

// Sets the backend, fusion and runtime extents for one benchmark and restores the previous
// settings after it.
class ModeScope {
 public:
  explicit ModeScope(Mode m)
      : backend_(m == Mode::Reference ? kiln::Backend::Reference : kiln::Backend::Jit),
        fusion_(m == Mode::Fused || m == Mode::Specialized),
        runtime_extents_(m != Mode::Specialized) {}

 private:
  kiln::BackendGuard backend_;
  kiln::FusionGuard fusion_;
  kiln::RuntimeExtentsGuard runtime_extents_;
};

// --- The workloads, as a Kiln user writes them ---
kiln::Tensor Gelu(const kiln::Tensor& x) { return kiln::gelu(x * 1.5 + 0.5, "tanh") * kiln::sigmoid(x); }

kiln::Tensor Softmax(const kiln::Tensor& x) { return kiln::softmax(x, 1); }

kiln::Tensor LayerNorm(const kiln::Tensor& x, const kiln::Tensor& w, const kiln::Tensor& b) {
  kiln::Tensor mu = x.mean({1}, true);
  kiln::Tensor d = x - mu;
  kiln::Tensor var = (d * d).mean({1}, true);
  return d * kiln::rsqrt(var + 1e-5) * w + b;
}

kiln::Tensor Matmul(const kiln::Tensor& a, const kiln::Tensor& b) { return a.matmul(b); }

kiln::Tensor LinearRelu(const kiln::Tensor& x, const kiln::Tensor& w, const kiln::Tensor& b) {
  return kiln::relu(x.matmul(w.t()) + b);
}

// Diagnostic variant: the weight already stored [in, out], so no transpose is recorded.
kiln::Tensor LinearReluPretransposed(const kiln::Tensor& x, const kiln::Tensor& wt, const kiln::Tensor& b) {
  return kiln::relu(x.matmul(wt) + b);
}

// Inputs of one shape set: the tensors a workload reads.
struct Inputs {
  std::vector<kiln::Tensor> t;
};

// W5: a 3-layer MLP trained with SGD, as a Kiln user writes it. Inputs: x, the one-hot target,
// then the initial w1, b1, w2, b2, w3, b3 (weights [in, out]).
struct Mlp {
  kiln::Tensor x, target;
  std::vector<kiln::Tensor> p;  // w1, b1, w2, b2, w3, b3: leaves that require grad

  // Fresh parameters for each benchmark run (cloned: sub_ rebinds the tensor, and a copy of the
  // handle would share it with the cached inputs).
  explicit Mlp(const Inputs& in) : x(in.t[0]), target(in.t[1]) {
    for (size_t i = 2; i < in.t.size(); ++i) p.push_back(in.t[i].clone().requires_grad_());
    kiln::eval(p);
  }

  // One step. backward() evaluates the loss, the gradients and the parameters as one graph; the
  // SGD update is recorded lazily and runs inside the next step's graph.
  kiln::Tensor Step() {
    kiln::Tensor h1 = kiln::relu(x.matmul(p[0]) + p[1]);
    kiln::Tensor h2 = kiln::relu(h1.matmul(p[2]) + p[3]);
    kiln::Tensor logits = h2.matmul(p[4]) + p[5];
    kiln::Tensor loss = -(kiln::log_softmax(logits, 1) * target).sum() / static_cast<double>(x.size(0));
    loss.backward();
    kiln::NoGradGuard no_grad;
    for (kiln::Tensor& q : p) {
      q.sub_(q.grad() * kMlpLr);
      q.mutable_grad() = kiln::Tensor();
    }
    return loss;
  }
};

// W5's check: two steps from the initial parameters (the first step's update runs inside the
// second step's graph), then the second loss and the parameters after both updates.
kiln::Tensor MlpTwoSteps(const Inputs& in) {
  Mlp m(in);
  m.Step();
  std::vector<kiln::Tensor> parts = {m.Step().detach().reshape({1})};
  for (const kiln::Tensor& q : m.p) parts.push_back(q.detach().flatten());
  return kiln::cat(parts);
}

// Row i of W5's target: class i % kMlpClasses.
std::vector<float> OneHot(int64_t rows) {
  std::vector<float> v(static_cast<size_t>(rows * kMlpClasses), 0.f);
  for (int64_t i = 0; i < rows; ++i) v[static_cast<size_t>(i * kMlpClasses + i % kMlpClasses)] = 1.f;
  return v;
}

// Random inputs, generated with the reference executor (whatever the JIT's state) and evaluated.
Inputs MakeInputs(Work w, double scale = 1.0) {
  ModeScope ref(Mode::Reference);
  auto s = [scale](int64_t n) { return std::max<int64_t>(1, static_cast<int64_t>(n * scale)); };
  Inputs in;
  switch (w) {
    case Work::W1:
      in.t = {kiln::randn({s(kW1Numel)})};
      break;
    case Work::W2:
      in.t = {kiln::randn({s(kW2Rows), s(kW2Cols)})};
      break;
    case Work::W3:
      in.t = {kiln::randn({s(kW3Rows), s(kW3Cols)}), kiln::randn({s(kW3Cols)}), kiln::randn({s(kW3Cols)})};
      break;
    case Work::Matmul:
      in.t = {kiln::randn({s(kMmM), s(kMmK)}), kiln::randn({s(kMmK), s(kMmN)})};
      break;
    case Work::Linear:
      in.t = {kiln::randn({s(kLinBatch), s(kLinIn)}), kiln::randn({s(kLinOut), s(kLinIn)}), kiln::randn({s(kLinOut)})};
      break;
    case Work::Mlp: {
      // The classes are not scaled down, so the small check still has a softmax to speak of.
      int64_t b = s(kMlpBatch), dims[] = {s(kMlpIn), s(kMlpHidden1), s(kMlpHidden2), kMlpClasses};
      in.t = {kiln::randn({b, dims[0]}), kiln::tensor(OneHot(b)).reshape({b, kMlpClasses})};
      for (int l = 0; l < 3; ++l) {  // weights scaled by 1/sqrt(fan-in), so activations stay O(1)
        in.t.push_back(kiln::randn({dims[l], dims[l + 1]}) * (1.0 / std::sqrt(static_cast<double>(dims[l]))));
        in.t.push_back(kiln::randn({dims[l + 1]}) * 0.1);
      }
      break;
    }
  }
  kiln::eval(in.t);
  return in;
}

kiln::Tensor Run(Work w, const Inputs& in) {
  const auto& t = in.t;
  switch (w) {
    case Work::W1:
      return Gelu(t[0]);
    case Work::W2:
      return Softmax(t[0]);
    case Work::W3:
      return LayerNorm(t[0], t[1], t[2]);
    case Work::Matmul:
      return Matmul(t[0], t[1]);
    case Work::Linear:
      return LinearRelu(t[0], t[1], t[2]);
    case Work::Mlp:
      return MlpTwoSteps(in);  // the check only; the benchmark times Mlp::Step
  }
  return {};
}

// Full-size inputs, made on first use and kept for the whole run.
const Inputs& FullInputs(Work w) {
  static std::unique_ptr<Inputs> cache[kNumWork];
  auto& slot = cache[static_cast<int>(w)];
  if (!slot) slot = std::make_unique<Inputs>(MakeInputs(w));
  return *slot;
}

// For the diagnostic W4_linear_relu/kiln_fused_wT: x, w^T stored [in, out], b.
const Inputs& PretransposedLinearInputs() {
  static std::unique_ptr<Inputs> in;
  if (!in) {
    ModeScope ref(Mode::Reference);
    in = std::make_unique<Inputs>();
    in->t = {FullInputs(Work::Linear).t[0], kiln::randn({kLinIn, kLinOut}), FullInputs(Work::Linear).t[2]};
    kiln::eval(in->t);
  }
  return *in;
}

// Times `body` as the benchmark's loop (run in mode `m`) and sets the counters.
template <typename F>
void TimeKiln(benchmark::State& state, Work w, Mode m, F&& body) {
  try {
    // Warm-up: compiles the kernels (cache misses) and fills Kiln's allocator cache. The reference
    // executor is too slow for one and has nothing to compile.
    if (m != Mode::Reference) body();
    kiln::Stats before = kiln::stats();
    double seconds = TimedLoop(state, body, /*warm_up=*/false);
    kiln::Stats after = kiln::stats();
    using C = benchmark::Counter;
    // Per evaluation: kernels launched, kernels compiled inside the timed loop (should be 0).
    state.counters["kernels"] =
        C(static_cast<double>(after.kernels_launched - before.kernels_launched), C::kAvgIterations);
    state.counters["compiles"] =
        C(static_cast<double>(after.kernels_compiled - before.kernels_compiled), C::kAvgIterations);
    SetCounters(state, w, seconds);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

void KilnBenchmark(benchmark::State& state, Work w, Mode m, bool pretransposed = false) {
  const Inputs& in = pretransposed ? PretransposedLinearInputs() : FullInputs(w);
  ModeScope scope(m);
  TimeKiln(state, w, m, [&] {
    kiln::Tensor y = pretransposed ? LinearReluPretransposed(in.t[0], in.t[1], in.t[2]) : Run(w, in);
    y.eval();
    benchmark::DoNotOptimize(y.impl());
  });
}

// W5: one training step per iteration. The loss is read every step (as a training loop that logs
// it would), which in Kiln is free: backward() has already evaluated it. Each timed step also runs
// the previous step's SGD update inside its graph, as in training.
void KilnMlpBenchmark(benchmark::State& state, Mode m) {
  const Inputs& in = FullInputs(Work::Mlp);
  ModeScope scope(m);
  try {
    Mlp mlp(in);
    // The first step has no pending update, so its graph is not the steady one (no update
    // kernels): one step here, then TimeKiln's warm-up step compiles the steady graph.
    if (m != Mode::Reference) mlp.Step().item<float>();
    TimeKiln(state, Work::Mlp, m, [&] {
      float loss = mlp.Step().item<float>();
      benchmark::DoNotOptimize(loss);
    });
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

std::string Describe(double max_abs, double max_ref) {
  std::ostringstream os;
  os.precision(3);
  os << "max |diff| " << max_abs << " (max |ref| " << max_ref << ")";
  return os.str();
}

}  // namespace

void RegisterKilnBenchmarks(Work w) {
  for (Mode m : {Mode::Fused, Mode::Unfused, Mode::Specialized, Mode::Reference}) {
    if (m == Mode::Specialized && !IsMemoryBound(w) && w != Work::Mlp) continue;
    auto* b = benchmark::RegisterBenchmark((std::string(WorkName(w)) + "/" + ModeName(m)).c_str(),
                                           [w, m](benchmark::State& s) {
                                             if (w == Work::Mlp)
                                               KilnMlpBenchmark(s, m);
                                             else
                                               KilnBenchmark(s, w, m);
                                           });
    b->UseRealTime()->Unit(benchmark::kMillisecond);
    if (m == Mode::Reference) b->Iterations(1)->Repetitions(1);
  }
  if (w == Work::Linear)  // diagnostic: what the transpose of w costs (not a column of the summary)
    benchmark::RegisterBenchmark("W4_linear_relu/kiln_fused_wT",
                                 [](benchmark::State& s) { KilnBenchmark(s, Work::Linear, Mode::Fused, true); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
}

std::string CheckKiln() {
  std::ostringstream out;
  for (Work w : kAllWork) {
    Inputs in = MakeInputs(w, 1.0 / 64);  // e.g. W2: 64x64; W4: 16x16x16
    std::vector<float> ref;
    {
      ModeScope scope(Mode::Reference);
      ref = Run(w, in).to_vector<float>();
    }
    double max_ref = 0;
    for (float v : ref) max_ref = std::max(max_ref, std::fabs(static_cast<double>(v)));
    for (Mode m : {Mode::Fused, Mode::Unfused}) {
      out << WorkName(w) << "/" << ModeName(m) << ": ";
      try {
        ModeScope scope(m);
        std::vector<float> got = Run(w, in).to_vector<float>();
        double max_abs = got.size() == ref.size() ? 0 : INFINITY;
        for (size_t i = 0; i < got.size() && i < ref.size(); ++i) {
          double d = std::fabs(static_cast<double>(got[i]) - ref[i]);
          if (std::isnan(d)) {
            max_abs = d;
            break;
          }
          max_abs = std::max(max_abs, d);
        }
        bool ok = max_abs <= 1e-4 * std::max(1.0, max_ref);
        out << (ok ? "ok, " : "MISMATCH, ") << Describe(max_abs, max_ref) << "\n";
      } catch (const std::exception& e) {
        std::string msg = e.what();
        out << "ERROR: " << msg.substr(0, msg.find('\n')) << "\n";
      }
    }
  }
  return out.str();
}

}  // namespace kiln_bench
