// Trains a classifier on Fashion-MNIST the way a LibTorch user writes it: a kiln::nn model, a
// data loader with worker threads, an optimizer, and a loop of zero_grad / forward / backward /
// step. Every step runs as one fused, compiled, cached graph (the optimizer's updates evaluate
// with the next step's forward and backward); the compile count per epoch shows that only the
// first steps compile. Prints a progress bar, a line per epoch, a per-class accuracy table, and
// writes the metrics as CSV.
//
//   bazel run //examples:fashion_mnist -- --epochs 5 --optimizer adam
//
// (The CNN, checkpoints, --resume and the plot of the metrics come with the rest of the model
// layer.)
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "kiln/data/data_loader.h"
#include "kiln/data/mnist.h"
#include "kiln/kiln.h"
#include "kiln/nn/modules.h"
#include "kiln/optim/optimizer.h"

namespace {

using Clock = std::chrono::steady_clock;
using kiln::Tensor;
namespace F = kiln::nn::functional;

constexpr const char* kClasses[] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
constexpr double kMean = 0.2860, kStd = 0.3530;  // of the training images

struct MlpImpl : kiln::nn::Module {
  MlpImpl() : kiln::nn::Module("Mlp") {
    layers = register_module("layers", kiln::nn::Sequential(kiln::nn::Flatten(), kiln::nn::Linear(784, 256),
                                                             kiln::nn::ReLU(), kiln::nn::Linear(256, 128),
                                                             kiln::nn::ReLU(), kiln::nn::Linear(128, 10)));
  }
  Tensor forward(const Tensor& x) { return layers(x); }
  kiln::nn::Sequential layers{nullptr};
};
KILN_MODULE(Mlp);

double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }

void progress(int epoch, int epochs, size_t done, size_t total, double loss, Clock::time_point start) {
  double elapsed = seconds_since(start), rate = done / std::max(elapsed, 1e-9);
  int width = 30, filled = static_cast<int>(width * done / std::max<size_t>(total, 1));
  std::printf("\repoch %d/%d [%s%s] %3zu%%  %7.0f samples/s  loss %.4f  ETA %4.0fs", epoch, epochs,
              std::string(filled, '=').c_str(), std::string(width - filled, ' ').c_str(), 100 * done / total, rate,
              loss, (total - done) / std::max(rate, 1e-9));
  std::fflush(stdout);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train an MLP on Fashion-MNIST with Kiln"};
  int epochs = 5, threads = 0;
  size_t batch_size = 64, workers = 2;
  double lr = 0;  // per optimizer when unset
  uint64_t seed = 0;
  std::string optimizer = "sgd", root = "/usr/share/datasets/fashion-mnist", csv = "fashion_mnist.csv";
  bool no_fusion = false;
  app.add_option("--epochs", epochs, "passes over the training set")->check(CLI::PositiveNumber);
  app.add_option("--batch-size", batch_size, "examples per step")->check(CLI::PositiveNumber);
  app.add_option("--optimizer", optimizer, "sgd (momentum 0.9) or adam")->check(CLI::IsMember({"sgd", "adam"}));
  app.add_option("--lr", lr, "learning rate (default: 0.02 for sgd, 1e-3 for adam)");
  app.add_option("--seed", seed, "seed for initialization and shuffling");
  app.add_option("--threads", threads, "Kiln's threads (0: every core)");
  app.add_option("--workers", workers, "data loader threads");
  app.add_option("--data", root, "the directory with the IDX files");
  app.add_option("--csv", csv, "where to write the metrics per epoch");
  app.add_flag("--no-fusion", no_fusion, "one kernel per primitive (the unfused baseline)");
  CLI11_PARSE(app, argc, argv);
  if (lr <= 0) lr = optimizer == "sgd" ? 0.02 : 1e-3;
  // Under `bazel run` the working directory is the runfiles tree: write next to the user instead.
  if (const char* dir = std::getenv("BUILD_WORKING_DIRECTORY"); dir && !csv.empty() && csv[0] != '/')
    csv = std::string(dir) + "/" + csv;

  try {
    kiln::manual_seed(seed);
    if (threads > 0) kiln::set_num_threads(threads);
    kiln::set_fusion(!no_fusion);
    using kiln::data::datasets::MNIST;
    auto train = MNIST(root, MNIST::Mode::kTrain)
                     .map(kiln::data::transforms::Normalize<>(kMean, kStd))
                     .map(kiln::data::transforms::Stack<>());
    size_t train_size = train.size().value();
    auto loader = kiln::data::make_data_loader(std::move(train),
                                               kiln::data::DataLoaderOptions().batch_size(batch_size).workers(workers));
    MNIST test(root, MNIST::Mode::kTest);
    Tensor test_x = test.images().sub(kMean).div(kStd).eval(), test_y = test.targets();

    Mlp model;
    std::unique_ptr<kiln::optim::Optimizer> opt;
    if (optimizer == "sgd") opt = std::make_unique<kiln::optim::SGD>(model->parameters(), kiln::optim::SGDOptions(lr).momentum(0.9));
    else opt = std::make_unique<kiln::optim::Adam>(model->parameters(), kiln::optim::AdamOptions(lr));
    std::cout << *model << "\n" << train_size << " training and " << test.size().value() << " test images, "
              << kiln::get_num_threads() << " threads, fusion " << (no_fusion ? "off" : "on") << "\n";

    std::ofstream metrics(csv);
    metrics << "epoch,train_loss,test_loss,test_accuracy,seconds,kernels_compiled\n";
    Tensor predictions;
    for (int epoch = 1; epoch <= epochs; ++epoch) {
      model->train();
      auto start = Clock::now();
      int64_t compiled_before = kiln::stats().kernels_compiled;
      double total_loss = 0;
      size_t seen = 0, steps = 0;
      for (auto& batch : *loader) {
        opt->zero_grad();
        Tensor loss = F::cross_entropy(model(batch.data), batch.target);
        loss.backward();
        opt->step();
        double value = loss.item<double>();
        total_loss += value * batch.data.size(0);
        seen += batch.data.size(0);
        if (++steps % 20 == 0 || seen == train_size) progress(epoch, epochs, seen, train_size, value, start);
      }
      double train_seconds = seconds_since(start);
      model->eval();
      double test_loss, accuracy;
      {
        kiln::NoGradGuard no_grad;
        Tensor logits = model(test_x);
        predictions = logits.argmax(1);
        test_loss = F::cross_entropy(logits, test_y).item<double>();
        accuracy = predictions.eq(test_y).to(kiln::kFloat64).mean().item<double>();
      }
      int64_t compiled = kiln::stats().kernels_compiled - compiled_before;
      std::printf("\repoch %d/%d  train loss %.4f  test loss %.4f  test accuracy %.2f%%  %.1fs  (%lld kernels compiled)%20s\n",
                  epoch, epochs, total_loss / seen, test_loss, 100 * accuracy, train_seconds,
                  static_cast<long long>(compiled), "");
      metrics << epoch << "," << total_loss / seen << "," << test_loss << "," << accuracy << "," << train_seconds << ","
              << compiled << "\n";
    }

    std::printf("\n%-12s %8s\n", "class", "accuracy");
    std::vector<int64_t> p = predictions.to_vector<int64_t>(), y = test_y.to_vector<int64_t>();
    for (int c = 0; c < 10; ++c) {
      int64_t right = 0, total = 0;
      for (size_t i = 0; i < y.size(); ++i)
        if (y[i] == c) ++total, right += p[i] == c;
      std::printf("%-12s %7.2f%%\n", kClasses[c], 100.0 * right / std::max<int64_t>(total, 1));
    }
    std::printf("metrics written to %s\n", csv.c_str());
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}
