// The LibTorch column of the per-epoch benchmark: the same MLP and CNN (torch::nn, written as
// examples/fashion_mnist/models.h writes them for Kiln), SGD with momentum, the same batches.
#include <torch/torch.h>
#include <torch/version.h>

#include <chrono>

#include "benchmarks/epoch_common.h"

namespace epoch_bench {
namespace {

namespace F = torch::nn::functional;

struct MlpImpl : torch::nn::Module {
  MlpImpl() {
    fc1 = register_module("fc1", torch::nn::Linear(784, 256));
    fc2 = register_module("fc2", torch::nn::Linear(256, 128));
    fc3 = register_module("fc3", torch::nn::Linear(128, 10));
  }
  torch::Tensor forward(const torch::Tensor& x) { return fc3(torch::relu(fc2(torch::relu(fc1(x.flatten(1)))))); }
  torch::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
};
TORCH_MODULE(Mlp);

struct CnnImpl : torch::nn::Module {
  CnnImpl() {
    conv1 = register_module("conv1", torch::nn::Conv2d(1, 32, 3));
    conv2 = register_module("conv2", torch::nn::Conv2d(32, 64, 3));
    fc1 = register_module("fc1", torch::nn::Linear(64 * 5 * 5, 128));
    dropout = register_module("dropout", torch::nn::Dropout(0.25));
    fc2 = register_module("fc2", torch::nn::Linear(128, 10));
  }
  torch::Tensor forward(const torch::Tensor& x) {
    torch::Tensor h = F::max_pool2d(torch::relu(conv1(x)), F::MaxPool2dFuncOptions(2));
    h = F::max_pool2d(torch::relu(conv2(h)), F::MaxPool2dFuncOptions(2));
    return fc2(dropout(torch::relu(fc1(h.flatten(1)))));
  }
  torch::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  torch::nn::Linear fc1{nullptr}, fc2{nullptr};
  torch::nn::Dropout dropout{nullptr};
};
TORCH_MODULE(Cnn);

template <typename Net>
double train(int64_t steps) {
  const EpochData& d = epoch_data();
  torch::manual_seed(0);
  Net net;
  torch::optim::SGD opt(net->parameters(), torch::optim::SGDOptions(kLr).momentum(kMomentum));
  torch::Tensor images = torch::from_blob(const_cast<float*>(d.images.data()), {d.examples, 1, 28, 28});
  torch::Tensor labels = torch::from_blob(const_cast<int64_t*>(d.labels.data()), {d.examples}, torch::kInt64);
  auto step = [&](int64_t s) {
    opt.zero_grad();
    torch::Tensor loss = F::cross_entropy(net->forward(images.slice(0, s * kBatch, (s + 1) * kBatch)),
                                          labels.slice(0, s * kBatch, (s + 1) * kBatch));
    loss.backward();
    opt.step();
    return loss.item<float>();  // as a training loop reads its loss every step
  };
  for (int64_t s = 0; s < 5; ++s) step(s);  // warm-up (oneDNN primitive caches)
  auto start = std::chrono::steady_clock::now();
  for (int64_t s = 0; s < steps; ++s) step(s);
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

}  // namespace

double torch_epoch_seconds(Model model, int threads, int64_t steps) {
  torch::set_num_threads(threads);
  return model == Model::Mlp ? train<Mlp>(steps) : train<Cnn>(steps);
}

std::string torch_info() { return std::string("LibTorch ") + TORCH_VERSION; }

}  // namespace epoch_bench
