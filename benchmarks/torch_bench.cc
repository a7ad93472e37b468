// The LibTorch columns (built only when @torch found LibTorch; see third_party/torch/torch.bzl):
// the same workloads through ATen ops (torch::softmax is at::softmax, etc.), in two settings:
//   torch_default  what a LibTorch user writes first: functional ops, a fresh output tensor every
//                  iteration, LibTorch's default thread settings. Outputs of 32 MiB and more come
//                  from glibc as fresh memory maps, so every iteration pays their page faults
//                  (about 0.45 ms per MiB on the development machines, see REFERENCE.md).
//   torch_tuned    at::set_num_threads(2) and at::set_num_interop_threads(1), and out= variants
//                  writing into buffers allocated once, so steady iterations never page-fault.
// Kiln never depends on LibTorch; only this benchmark binary links it.
#include <ATen/ATen.h>
#include <ATen/Parallel.h>
#include <torch/version.h>

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
  static std::unique_ptr<TorchInputs> cache[5];
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
  }
}

void TunedSettings() {
  static bool done = false;
  if (done) return;
  done = true;
  at::set_num_threads(2);
  try {
    at::set_num_interop_threads(1);  // only possible before the inter-op pool starts
  } catch (const std::exception&) {
  }
}

void TorchBenchmark(benchmark::State& state, Work w, bool tuned) {
  const std::vector<at::Tensor>& t = Inputs(w).t;
  try {
    double seconds;
    if (tuned) {
      TunedSettings();
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
    benchmark::RegisterBenchmark(name.c_str(), [w, tuned](benchmark::State& s) { TorchBenchmark(s, w, tuned); })
        ->UseRealTime()
        ->Unit(benchmark::kMillisecond);
  }
}

std::string TorchInfo() {
  return "LibTorch " + std::to_string(TORCH_VERSION_MAJOR) + "." + std::to_string(TORCH_VERSION_MINOR) + "." +
         std::to_string(TORCH_VERSION_PATCH) + ", default intra-op threads " + std::to_string(at::get_num_threads());
}

}  // namespace kiln_bench
