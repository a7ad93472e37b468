// Trains a classifier on Fashion-MNIST the way a LibTorch user writes it: a kiln::nn model (an
// MLP or a small CNN, models.h), a data loader with worker threads, an optimizer with a cosine
// schedule, and a loop of zero_grad / forward / backward / step. Every step runs as one fused,
// compiled, cached graph (the optimizer's updates evaluate with the next step's forward and
// backward); the compile count per epoch shows that only the first steps compile. Prints a
// progress bar, a line per epoch and a per-class accuracy table; writes the metrics as CSV, a
// plot of them as PNG, and a checkpoint each epoch that --resume continues from.
//
//   bazel run //examples:fashion_mnist -- --model cnn --epochs 5
#include <CLI/CLI.hpp>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "kiln/data/augment.h"
#include "kiln/data/data_loader.h"
#include "kiln/data/mnist.h"
#include "kiln/kiln.h"
#include "kiln/optim/optimizer.h"
#include "kiln/optim/schedulers.h"
#include "kiln/serialize.h"
#include "models.h"
#include "report.h"

namespace {

using kiln::Tensor;
namespace F = kiln::nn::functional;
namespace fs = std::filesystem;
using namespace fashion_mnist;

constexpr double kMean = 0.2860, kStd = 0.3530;  // of the training images

struct Flags {
  std::string model = "mlp", optimizer = "sgd", root = "/usr/share/datasets/fashion-mnist";
  std::string csv = "fashion_mnist.csv", png = "fashion_mnist.png", checkpoints = "fashion_mnist_checkpoint";
  std::string dump, dump_dir = "fashion_mnist_dump", device = "cpu";
  int epochs = 5, threads = 0;
  size_t batch_size = 64, workers = 2;
  double lr = 0;  // per optimizer when unset
  double weight_decay = 0, label_smoothing = 0;
  uint64_t seed = 0;
  bool no_fusion = false, resume = false, augment = false;
};

// Under `bazel run` the working directory is the runfiles tree: relative paths go next to the user.
std::string beside_user(const std::string& path) {
  const char* dir = std::getenv("BUILD_WORKING_DIRECTORY");
  return dir && !path.empty() && path[0] != '/' ? std::string(dir) + "/" + path : path;
}

// The model behind one interface: forward, parameters, modes, checkpoints.
struct Model {
  std::shared_ptr<kiln::nn::Module> module;
  std::function<Tensor(const Tensor&)> forward;
};
Model make_model(const std::string& kind) {
  if (kind == "cnn") {
    Cnn cnn;
    return {cnn.ptr(), [cnn](const Tensor& x) { return cnn(x); }};
  }
  Mlp mlp;
  return {mlp.ptr(), [mlp](const Tensor& x) { return mlp(x); }};
}

std::unique_ptr<kiln::optim::Optimizer> make_optimizer(const Flags& f, const std::vector<Tensor>& params) {
  if (f.optimizer == "adam")
    return std::make_unique<kiln::optim::Adam>(params, kiln::optim::AdamOptions(f.lr).weight_decay(f.weight_decay));
  return std::make_unique<kiln::optim::SGD>(
      params, kiln::optim::SGDOptions(f.lr).momentum(0.9).weight_decay(f.weight_decay));
}

// Test loss, accuracy and the predictions, in eval mode without gradients.
std::tuple<double, double, std::vector<int64_t>> evaluate(Model& model, const Tensor& x, const Tensor& y) {
  model.module->eval();
  kiln::NoGradGuard no_grad;
  Tensor logits = model.forward(x);
  Tensor predictions = logits.argmax(1);
  double loss = F::cross_entropy(logits, y).item<double>();
  double accuracy = predictions.eq(y).to(kiln::kFloat64).mean().item<double>();
  return {loss, accuracy, predictions.to_vector<int64_t>()};
}

int run(Flags f) {
  if (f.lr <= 0) f.lr = f.optimizer == "adam" ? 1e-3 : f.model == "cnn" ? 0.03 : 0.05;
  f.csv = beside_user(f.csv);
  f.png = beside_user(f.png);
  f.checkpoints = beside_user(f.checkpoints);
  if (!f.dump.empty()) {  // Kiln reads these once, at its first evaluation
    setenv("KILN_DUMP", f.dump.c_str(), 1);
    setenv("KILN_DUMP_DIR", beside_user(f.dump_dir).c_str(), 1);
    fs::create_directories(beside_user(f.dump_dir));
  }
  kiln::manual_seed(f.seed);
  if (f.threads > 0) kiln::set_num_threads(f.threads);
  kiln::set_fusion(!f.no_fusion);

  using kiln::data::datasets::MNIST;
  namespace T = kiln::data::transforms;
  MNIST train_set(f.root, MNIST::Mode::kTrain);
  size_t train_size = train_set.size().value();
  auto options = kiln::data::DataLoaderOptions().batch_size(f.batch_size).workers(f.workers);
  auto normalize = [&](auto dataset) {
    return std::move(dataset).map(T::Normalize<>(kMean, kStd)).map(T::Stack<>());
  };
  // Type-erased so that the loop is one: a loader over plain or augmented examples.
  std::function<void(const std::function<void(Tensor, Tensor)>&)> for_each_batch;
  if (f.augment) {
    auto loader = kiln::data::make_data_loader(
        normalize(std::move(train_set).map(T::RandomCrop(28, 2, f.seed)).map(T::RandomHorizontalFlip(0.5, f.seed))),
        options);
    for_each_batch = [loader = std::shared_ptr(std::move(loader))](const auto& step) {
      for (auto& batch : *loader) step(batch.data, batch.target);
    };
  } else {
    auto loader = kiln::data::make_data_loader(normalize(std::move(train_set)), options);
    for_each_batch = [loader = std::shared_ptr(std::move(loader))](const auto& step) {
      for (auto& batch : *loader) step(batch.data, batch.target);
    };
  }
  MNIST test(f.root, MNIST::Mode::kTest);
  kiln::Device device(f.device == "cuda" ? kiln::kCUDA : kiln::kCPU);
  Tensor test_x = test.images().sub(kMean).div(kStd).eval().to(device), test_y = test.targets().to(device);

  Model model = make_model(f.model);
  model.module->to(device);
  std::unique_ptr<kiln::optim::Optimizer> opt = make_optimizer(f, model.module->parameters());
  kiln::optim::CosineAnnealingLR schedule(*opt, f.epochs);

  std::vector<EpochMetrics> history;
  fs::path model_file = fs::path(f.checkpoints) / "model.safetensors";
  fs::path optimizer_file = fs::path(f.checkpoints) / "optimizer.safetensors";
  fs::path progress_file = fs::path(f.checkpoints) / "metrics.csv";
  if (f.resume && fs::exists(progress_file)) {
    kiln::load(*model.module, model_file.string());
    kiln::load(*opt, optimizer_file.string());
    history = read_csv(progress_file.string());
    for (size_t e = 0; e < history.size(); ++e) schedule.step();
    std::cout << "resumed from " << f.checkpoints << " after epoch " << history.size() << "\n";
  }
  std::cout << *model.module << "\n" << train_size << " training and " << test.size().value() << " test images, "
            << kiln::get_num_threads() << " threads, fusion " << (f.no_fusion ? "off" : "on") << ", " << f.optimizer
            << " lr " << f.lr << " (cosine schedule)\n";

  std::vector<int64_t> predictions;
  for (int epoch = static_cast<int>(history.size()) + 1; epoch <= f.epochs; ++epoch) {
    kiln::manual_seed(f.seed * 1000 + static_cast<uint64_t>(epoch));  // this epoch's order and dropout, on resume too
    model.module->train();
    auto start = std::chrono::steady_clock::now();
    int64_t compiled_before = kiln::stats().kernels_compiled;
    double total_loss = 0;
    size_t seen = 0;
    ProgressBar bar(epoch, f.epochs, train_size);
    for_each_batch([&](const Tensor& data, const Tensor& target) {
      opt->zero_grad();
      Tensor loss = F::cross_entropy(model.forward(data.to(device)), target.to(device),
                                     F::CrossEntropyFuncOptions().label_smoothing(f.label_smoothing));
      loss.backward();
      opt->step();
      double value = loss.item<double>();
      total_loss += value * static_cast<double>(data.size(0));
      seen += static_cast<size_t>(data.size(0));
      bar.update(seen, value);
    });
    schedule.step();
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    auto [test_loss, accuracy, predicted] = evaluate(model, test_x, test_y);
    predictions = std::move(predicted);
    history.push_back({epoch, total_loss / static_cast<double>(seen), test_loss, accuracy, seconds,
                       static_cast<long long>(kiln::stats().kernels_compiled - compiled_before)});
    print_epoch(history.back(), f.epochs);
    fs::create_directories(f.checkpoints);
    kiln::save(*model.module, model_file.string());
    kiln::save(*opt, optimizer_file.string());
    write_csv(progress_file.string(), history);  // last: it marks the epoch as saved
  }
  if (predictions.empty()) predictions = std::get<2>(evaluate(model, test_x, test_y));
  print_class_table(predictions, test_y.to_vector<int64_t>());  // to_vector copies from a GPU
  write_csv(f.csv, history);
  std::printf("metrics written to %s\n", f.csv.c_str());
  if (plot(f.png, "Kiln: " + f.model + " on Fashion-MNIST (" + f.optimizer + ")", history))
    std::printf("plot written to %s\n", f.png.c_str());
  std::printf("checkpoint in %s (--resume continues from it)\n", f.checkpoints.c_str());
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Train an MLP or a CNN on Fashion-MNIST with Kiln"};
  Flags f;
  app.add_option("--model", f.model, "mlp (784-256-128-10) or cnn (2 conv + 2 linear)")->check(CLI::IsMember({"mlp", "cnn"}));
  app.add_option("--epochs", f.epochs, "passes over the training set")->check(CLI::PositiveNumber);
  app.add_option("--batch-size", f.batch_size, "examples per step")->check(CLI::PositiveNumber);
  app.add_option("--optimizer", f.optimizer, "sgd (momentum 0.9) or adam")->check(CLI::IsMember({"sgd", "adam"}));
  app.add_option("--lr", f.lr,
                 "initial learning rate, cosine-annealed to 0 (default: sgd 0.05 for the mlp, 0.03 for the cnn; adam 1e-3)");
  app.add_option("--weight-decay", f.weight_decay, "L2 penalty added to the gradients (default 0)");
  app.add_option("--label-smoothing", f.label_smoothing, "cross-entropy's label smoothing (default 0)");
  app.add_option("--seed", f.seed, "seed for initialization, shuffling and dropout");
  app.add_option("--threads", f.threads, "Kiln's threads (0: every core)");
  app.add_option("--workers", f.workers, "data loader threads");
  app.add_flag("--augment", f.augment, "random crops (padding 2) and horizontal flips");
  app.add_flag("--no-fusion", f.no_fusion, "one kernel per primitive (the unfused baseline)");
  app.add_option("--device", f.device, "cpu or cuda")->check(CLI::IsMember({"cpu", "cuda"}));
  app.add_option("--dump", f.dump, "IR stages to dump, as KILN_DUMP: graph,fused,kernels,llvm,asm,cuda,ptx,backward");
  app.add_option("--dump-dir", f.dump_dir, "where --dump writes");
  app.add_option("--data", f.root, "the directory with the IDX files");
  app.add_option("--csv", f.csv, "the metrics per epoch");
  app.add_option("--plot", f.png, "the plot of loss and accuracy per epoch (PNG)");
  app.add_option("--checkpoint-dir", f.checkpoints, "model, optimizer and metrics, saved after each epoch");
  app.add_flag("--resume", f.resume, "continue from the checkpoint's last epoch");
  CLI11_PARSE(app, argc, argv);
  try {
    return run(f);
  } catch (const kiln::Error& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
}
