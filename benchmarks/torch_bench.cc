// The LibTorch columns (built only when @torch found LibTorch; see third_party/torch/torch.bzl):
// the same workloads through ATen ops (torch::softmax is at::softmax, etc.), in two settings:
//   torch_default  what a LibTorch user writes first: functional ops, a fresh output tensor every
//                  iteration, LibTorch's default thread settings. Outputs of 32 MiB and more come
//                  from glibc as fresh memory maps, so every iteration pays their page faults
//                  (about 0.45 ms per MiB on the development machines, see REFERENCE.md).
//   torch_tuned    at::set_num_threads(2) and at::set_num_interop_threads(1), and out= variants
//                  writing into buffers allocated once, so steady iterations never page-fault.
// W5 (a training step) goes through LibTorch's autograd, which ATen's at::Tensor carries
// (set_requires_grad, backward, grad, at::NoGradGuard): no out= variants there, so its tuned
// column is the fused ops a tuned model uses (addmm, relu_, add_), and it keeps LibTorch's default
// intra-op thread count: with 2 OpenMP threads the step ran 4-26x slower on the 2-core
// development machines, as OpenMP's spinning worker and OpenBLAS's worker thread take turns on the
// 2 cores (in a standalone check with OMP_WAIT_POLICY=passive, 2 threads ran as fast as 1). The
// diagnostic row torch_tuned_2t (not in the summary) measures it with 2 threads.
// Kiln never depends on LibTorch; only this benchmark binary links it.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

#include "benchmarks/bench_common.h"

namespace kiln_bench {
namespace {

struct TorchInputs {
  std::vector<at::Tensor> t;
};

const TorchInputs& Inputs(Work w) {
  static std::unique_ptr<TorchInputs> cache[kNumWork];
  auto& slot = cache[static_cast<int>(w)];
  if (!slot) {
    slot = std::make_unique<TorchInputs>();
    at::manual_seed(0);
    switch (w) {
      case Work::W1:
        slot->t = {at::randn({kW1Numel})};
        break;
      case Work::W2:
        slot->t = {at::randn({kW2Rows, kW2Cols})};
        break;
      case Work::W3:
        slot->t = {at::randn({kW3Rows, kW3Cols}), at::randn({kW3Cols}), at::randn({kW3Cols})};
        break;
      case Work::Matmul:
        slot->t = {at::randn({kMmM, kMmK}), at::randn({kMmK, kMmN})};
        break;
      case Work::Linear:
        slot->t = {at::randn({kLinBatch, kLinIn}), at::randn({kLinOut, kLinIn}), at::randn({kLinOut})};
        break;
      case Work::Mlp: {  // as kiln_workloads.cc: x, one-hot target (row i: class i % 10), w1, b1, ...
        int64_t dims[] = {kMlpIn, kMlpHidden1, kMlpHidden2, kMlpClasses};
        slot->t = {at::randn({kMlpBatch, kMlpIn}),
                   at::one_hot(at::arange(kMlpBatch) % kMlpClasses, kMlpClasses).to(at::kFloat)};
        for (int l = 0; l < 3; ++l) {
          slot->t.push_back(at::randn({dims[l], dims[l + 1]}) / std::sqrt(static_cast<double>(dims[l])));
          slot->t.push_back(at::randn({dims[l + 1]}) * 0.1);
        }
        break;
      }
    }
  }
  return *slot;
}

// Default: one functional expression per workload, new outputs every time.
at::Tensor RunDefault(Work w, const std::vector<at::Tensor>& t) {
  switch (w) {
    case Work::W1:
      return at::gelu(t[0] * 1.5 + 0.5, "tanh") * at::sigmoid(t[0]);
    case Work::W2:
      return at::softmax(t[0], 1);
    case Work::W3:
      return at::layer_norm(t[0], {kW3Cols}, t[1], t[2], 1e-5);
    case Work::Matmul:
      return at::matmul(t[0], t[1]);
    case Work::Linear:
      return at::relu(at::linear(t[0], t[1], t[2]));
    case Work::Mlp:
      break;  // a training step: TorchMlp
  }
  return {};
}

// Tuned: the same computation into buffers allocated once (`out` holds them between calls).
void RunTuned(Work w, const std::vector<at::Tensor>& t, std::vector<at::Tensor>& out) {
  if (out.empty())
    for (int i = 0; i < 3; ++i) out.push_back(at::empty({0}, t[0].options()));
  switch (w) {
    case Work::W1: {
      static const at::Tensor half = at::scalar_tensor(0.5, t[0].options());
      at::add_out(out[0], half, t[0], 1.5);  // a = 0.5 + 1.5 x
      at::gelu_out(out[1], out[0], "tanh");  // g = gelu_tanh(a)
      at::sigmoid_out(out[2], t[0]);         // s = sigmoid(x)
      out[1].mul_(out[2]);                   // y = g * s
      break;
    }
    case Work::W2:
      at::softmax_out(out[0], t[0], 1);
      break;
    case Work::W3:
      at::native_layer_norm_out(out[0], out[1], out[2], t[0], {kW3Cols}, t[1], t[2], 1e-5);
      break;
    case Work::Matmul:
      at::mm_out(out[0], t[0], t[1]);
      break;
    case Work::Linear:
      at::addmm_out(out[0], t[2], t[0], t[1].t());
      out[0].relu_();
      break;
    case Work::Mlp:
      break;  // a training step: TorchMlp
  }
}

// W5: the MLP trained with SGD through LibTorch's autograd, as kiln_workloads.cc's Mlp.
struct TorchMlp {
  at::Tensor x, target;
  std::vector<at::Tensor> p;  // w1, b1, w2, b2, w3, b3 ([in, out]), requiring grad

  // Fresh parameters for each benchmark run, so every column starts from the same weights.
  explicit TorchMlp(const std::vector<at::Tensor>& t) : x(t[0]), target(t[1]) {
    for (size_t i = 2; i < t.size(); ++i) {
      p.push_back(t[i].clone());
      p.back().set_requires_grad(true);
    }
  }

  // Default: what the Kiln step says, op for op; gradients reset to undefined (set_to_none, the
  // default of optimizer.zero_grad() since PyTorch 2.0: no zeroing pass, no accumulation pass).
  at::Tensor StepDefault() {
    at::Tensor h1 = at::relu(at::matmul(x, p[0]) + p[1]);
    at::Tensor h2 = at::relu(at::matmul(h1, p[2]) + p[3]);
    at::Tensor logits = at::matmul(h2, p[4]) + p[5];
    at::Tensor loss = -(at::log_softmax(logits, 1) * target).sum() / static_cast<double>(kMlpBatch);
    loss.backward();
    at::NoGradGuard no_grad;
    for (at::Tensor& q : p) {
      q.sub_(q.grad() * kMlpLr);
      q.mutable_grad().reset();
    }
    return loss;
  }

  // Tuned: bias added by the gemm (addmm, beta = 1), relu in place on its output, and the update
  // as one add_ with alpha (no temporary for grad * lr).
  at::Tensor StepTuned() {
    at::Tensor h1 = at::addmm(p[1], x, p[0]).relu_();
    at::Tensor h2 = at::addmm(p[3], h1, p[2]).relu_();
    at::Tensor logits = at::addmm(p[5], h2, p[4]);
    at::Tensor loss = -(at::log_softmax(logits, 1) * target).sum() / static_cast<double>(kMlpBatch);
    loss.backward();
    at::NoGradGuard no_grad;
    for (at::Tensor& q : p) {
      q.add_(q.grad(), -kMlpLr);
      q.mutable_grad().reset();
    }
    return loss;
  }
};

// LibTorch's default intra-op thread count, read before anything changes it.
int DefaultThreads() {
  static const int n = at::get_num_threads();
  return n;
}

// The thread settings of a column: `threads` intra-op threads (0: the default count, restored for
// torch_default, which would otherwise run on the 2 threads a torch_tuned before it set; Debian's
// LibTorch uses OpenMP, whose thread count can change at any time), and for tuned columns one
// inter-op thread.
void ThreadSettings(bool tuned, int threads) {
  at::set_num_threads(threads > 0 ? threads : DefaultThreads());
  static bool interop_done = false;
  if (!tuned || interop_done) return;
  interop_done = true;
  try {
    at::set_num_interop_threads(1);  // only possible before the inter-op pool starts
  } catch (const std::exception&) {
  }
}

void TorchBenchmark(benchmark::State& state, Work w, bool tuned, int threads) {
  const std::vector<at::Tensor>& t = Inputs(w).t;
  try {
    ThreadSettings(tuned, threads);
    double seconds;
    if (w == Work::Mlp) {
      // One training step per iteration, reading the loss (LibTorch has computed it already:
      // item() only copies it out).
      TorchMlp mlp(t);
      seconds = TimedLoop(state, [&] {
        float loss = (tuned ? mlp.StepTuned() : mlp.StepDefault()).item<float>();
        benchmark::DoNotOptimize(loss);
      });
    } else if (tuned) {
      std::vector<at::Tensor> out;  // sized by the warm-up call, reused after
      seconds = TimedLoop(state, [&] {
        RunTuned(w, t, out);
        benchmark::DoNotOptimize(out[0].data_ptr());
      });
    } else {
      seconds = TimedLoop(state, [&] {
        at::Tensor y = RunDefault(w, t);
        benchmark::DoNotOptimize(y.data_ptr());
      });
    }
    SetCounters(state, w, seconds);
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
  }
}

}  // namespace

bool TorchBuiltIn() { return true; }

void RegisterTorchBenchmarks(Work w) {
  for (bool tuned : {false, true}) {
    std::string name = std::string(WorkName(w)) + (tuned ? "/torch_tuned" : "/torch_default");
    int threads = tuned && w != Work::Mlp ? 2 : 0;  // W5: see the top of this file
    benchmark::RegisterBenchmark(name.c_str(),
                                 [w, tuned, threads](benchmark::State& s) { TorchBenchmark(s, w, tuned, threads); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
  if (w == Work::Mlp)  // diagnostic: the tuned step on 2 OpenMP threads (not a column of the summary)
    benchmark::RegisterBenchmark("W5_mlp_train/torch_tuned_2t",
                                 [](benchmark::State& s) { TorchBenchmark(s, Work::Mlp, true, 2); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
}

std::string TorchInfo() {
  return "LibTorch " + std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH) + ", default intra-op threads " + std::to_string(at::get_num_threads());
}

}  // namespace kiln_bench
