// Time per epoch of Fashion-MNIST training (examples/fashion_mnist/models.h: the MLP and the
// CNN; SGD with momentum, batch 64, the same shuffled batches for every column), for Kiln fused
// and unfused and, where LibTorch is built in, LibTorch with 1 and 2 intra-op threads, measured
// in the same run. The summary prints Kiln fused / LibTorch's best per model against the
// target (at most 0.6x) and the kernels Kiln compiled during the timed epoch (target: 0).
//
//   benchmarks/run_epoch.sh                      # full epochs (937 steps)
//   benchmarks/run_epoch.sh --steps=200          # shorter, same ratios on a quiet machine
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <map>
#include <numeric>
#include <random>
#include <string>

#include "benchmarks/epoch_common.h"
#include "kiln/data/mnist.h"
#include "kiln/kiln.h"
#include "kiln/optim/optimizer.h"
#include "models.h"

namespace epoch_bench {

const EpochData& epoch_data() {
  static const EpochData data = [] {
    kiln::data::datasets::MNIST train("/usr/share/datasets/fashion-mnist");
    EpochData d;
    d.examples = train.images().size(0);
    std::vector<float> images = train.images().sub(0.2860).div(0.3530).to_vector<float>();
    std::vector<int64_t> labels = train.targets().to_vector<int64_t>();
    std::vector<size_t> order(static_cast<size_t>(d.examples));
    std::iota(order.begin(), order.end(), 0);
    std::shuffle(order.begin(), order.end(), std::mt19937_64(42));
    for (size_t i : order) {
      d.images.insert(d.images.end(), images.begin() + static_cast<std::ptrdiff_t>(i * 784),
                      images.begin() + static_cast<std::ptrdiff_t>((i + 1) * 784));
      d.labels.push_back(labels[i]);
    }
    return d;
  }();
  return data;
}

namespace {

int64_t g_steps = 0;  // steps per timed epoch (--steps, default the whole epoch)
std::map<std::string, double> g_seconds;
int64_t g_compiled[2] = {-1, -1};

template <typename Net>
double kiln_epoch(bool fused, int64_t steps, int64_t* compiled) {
  const EpochData& d = epoch_data();
  kiln::FusionGuard fusion(fused);
  kiln::manual_seed(0);
  Net net;
  kiln::optim::SGD opt(net->parameters(), kiln::optim::SGDOptions(kLr).momentum(kMomentum));
  kiln::Tensor images = kiln::from_blob(const_cast<float*>(d.images.data()), {d.examples, 1, 28, 28});
  kiln::Tensor labels = kiln::from_blob(const_cast<int64_t*>(d.labels.data()), {d.examples}, kiln::dtype(kiln::kInt64));
  auto step = [&](int64_t s) {
    opt.zero_grad();
    kiln::Tensor loss = kiln::nn::functional::cross_entropy(net(images.slice(0, s * kBatch, (s + 1) * kBatch)),
                                                            labels.slice(0, s * kBatch, (s + 1) * kBatch));
    loss.backward();
    opt.step();
    return loss.item<float>();  // as a training loop reads its loss every step
  };
  for (int64_t s = 0; s < 5; ++s) step(s);  // the first steps compile
  int64_t before = kiln::stats().kernels_compiled;
  auto start = std::chrono::steady_clock::now();
  for (int64_t s = 0; s < steps; ++s) step(s);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  *compiled = kiln::stats().kernels_compiled - before;
  return seconds;
}

const char* name(Model m) { return m == Model::Mlp ? "mlp" : "cnn"; }

void report(benchmark::State& state, const std::string& key, double seconds, int64_t steps) {
  state.SetIterationTime(seconds);
  g_seconds[key] = seconds;
  state.counters["s_per_epoch"] = seconds * static_cast<double>(epoch_data().steps()) / static_cast<double>(steps);
  state.counters["ms_per_step"] = 1e3 * seconds / static_cast<double>(steps);
}

void BM_Kiln(benchmark::State& state, Model m, bool fused) {
  int64_t steps = g_steps, compiled = 0;
  for (auto _ : state) {
    double s = m == Model::Mlp ? kiln_epoch<fashion_mnist::Mlp>(fused, steps, &compiled)
                               : kiln_epoch<fashion_mnist::Cnn>(fused, steps, &compiled);
    report(state, std::string("kiln_") + (fused ? "fused_" : "unfused_") + name(m), s, steps);
  }
  state.counters["compiled_in_epoch"] = static_cast<double>(compiled);
  if (fused) g_compiled[static_cast<int>(m)] = compiled;
}

void BM_Torch(benchmark::State& state, Model m, int threads) {
  for (auto _ : state) {
    double s = torch_epoch_seconds(m, threads, g_steps);
    if (s < 0) {
      state.SkipWithError("LibTorch is not built in");
      return;
    }
    report(state, "torch_" + std::to_string(threads) + "t_" + name(m), s, g_steps);
  }
}

void summary() {
  std::printf("\nper-epoch summary (%lld steps of %lld; %s)\n", static_cast<long long>(g_steps),
              static_cast<long long>(epoch_data().steps()), torch_info().c_str());
  for (Model m : {Model::Mlp, Model::Cnn}) {
    auto get = [&](const std::string& k) { auto it = g_seconds.find(k); return it == g_seconds.end() ? -1.0 : it->second; };
    double fused = get(std::string("kiln_fused_") + name(m)), unfused = get(std::string("kiln_unfused_") + name(m));
    double t1 = get(std::string("torch_1t_") + name(m)), t2 = get(std::string("torch_2t_") + name(m));
    double torch_best = t1 > 0 && t2 > 0 ? std::min(t1, t2) : std::max(t1, t2);
    std::printf("  %s: kiln fused %.2f s, unfused %.2f s (fused/unfused %.2fx), compiled in timed epoch: %lld",
                name(m), fused, unfused, fused / unfused, static_cast<long long>(g_compiled[static_cast<int>(m)]));
    if (torch_best > 0)
      std::printf("; LibTorch best %.2f s: kiln/LibTorch %.2fx (target <= 0.60x) %s\n", torch_best, fused / torch_best,
                  fused / torch_best <= 0.6 ? "PASS" : "MISS");
    else
      std::printf("; no LibTorch column\n");
  }
}

}  // namespace
}  // namespace epoch_bench

int main(int argc, char** argv) {
  using namespace epoch_bench;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a.rfind("--steps=", 0) == 0) g_steps = std::stoll(a.substr(8));
  }
  if (g_steps <= 0 || g_steps > epoch_data().steps()) g_steps = epoch_data().steps();
  for (Model m : {Model::Mlp, Model::Cnn}) {
    std::string n = name(m);
    benchmark::RegisterBenchmark(("epoch/" + n + "/kiln_fused").c_str(), BM_Kiln, m, true)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
    benchmark::RegisterBenchmark(("epoch/" + n + "/kiln_unfused").c_str(), BM_Kiln, m, false)->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
    for (int t : {1, 2})
      benchmark::RegisterBenchmark(("epoch/" + n + "/torch_" + std::to_string(t) + "t").c_str(), BM_Torch, m, t)
          ->Iterations(1)->UseManualTime()->Unit(benchmark::kSecond);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  summary();
  return 0;
}
