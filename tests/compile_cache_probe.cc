// A child process for compile_cache_test: KILN_CACHE_DIR is read once per process. Trains a small
// MLP for two steps (the first compiles the forward and backward kernels, the second the SGD
// updates) and prints what the kernel cache compiled and what it loaded from the disk cache, the
// first step's time, and the losses.
#include <chrono>
#include <cstdio>

#include "kiln/kiln.h"
#include "kiln/nn/modules.h"
#include "kiln/optim/optimizer.h"

int main() {
  kiln::manual_seed(0);
  kiln::nn::Sequential model(kiln::nn::Linear(784, 64), kiln::nn::ReLU(), kiln::nn::Linear(64, 10));
  kiln::optim::SGD opt(model->parameters(), kiln::optim::SGDOptions(0.1).momentum(0.9));
  kiln::Tensor x = kiln::randn({32, 784}), y = kiln::randint(0, 10, {32});
  double losses[2], first_ms = 0;
  for (int step = 0; step < 2; ++step) {
    auto t0 = std::chrono::steady_clock::now();
    opt.zero_grad();
    kiln::Tensor loss = kiln::nn::functional::cross_entropy(model->forward(x), y);
    loss.backward();
    opt.step();
    losses[step] = loss.item<double>();
    if (step == 0) first_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
  }
  kiln::Stats s = kiln::stats();
  std::printf("compiled %lld loaded %lld first_step_ms %.1f losses %.17g %.17g\n",
              static_cast<long long>(s.kernels_compiled), static_cast<long long>(s.kernels_loaded), first_ms,
              losses[0], losses[1]);
  return 0;
}
