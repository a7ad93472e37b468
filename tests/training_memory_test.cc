// A whole training loop as a user writes it (a CNN with BatchNorm and Dropout, Adam, a StepLR
// schedule, a data loader with two worker threads) runs 1,000 steps: after the first steps it
// compiles nothing, and live graph nodes and bytes are the same at the same point of every step.
#include <gtest/gtest.h>

#include "kiln/data/data_loader.h"
#include "kiln/kiln.h"
#include "kiln/nn.h"
#include "kiln/optim/optimizer.h"
#include "kiln/optim/schedulers.h"

namespace kiln {
namespace {

namespace F = nn::functional;

// 320 images [1, 8, 8] whose class is the quadrant holding the brightest pixels.
class Quadrants : public data::Dataset<Quadrants> {
 public:
  Quadrants() {
    manual_seed(11);
    images_ = rand({320, 1, 8, 8}).mul(0.5).eval();
    targets_ = randint(0, 4, {320}).eval();
    std::vector<int64_t> t = targets_.to_vector<int64_t>();
    for (int64_t i = 0; i < 320; ++i) {
      int64_t top = (t[i] / 2) * 4, left = (t[i] % 2) * 4;
      images_.index_put_({i, 0, indexing::Slice(top, top + 4), indexing::Slice(left, left + 4)}, 1.0);
    }
    images_ = images_.eval();
  }
  data::Example<> get(size_t i) override {
    int64_t k = static_cast<int64_t>(i);
    return {images_[k], targets_[k]};
  }
  std::optional<size_t> size() const override { return 320; }

 private:
  Tensor images_, targets_;
};

struct NetImpl : nn::Module {
  NetImpl() : nn::Module("Net") {
    conv = register_module("conv", nn::Conv2d(nn::Conv2dOptions(1, 8, 3).padding(1)));
    bn = register_module("bn", nn::BatchNorm2d(8));
    fc = register_module("fc", nn::Linear(8 * 4 * 4, 4));
    drop = register_module("drop", nn::Dropout(0.2));
  }
  Tensor forward(const Tensor& x) {
    Tensor h = F::max_pool2d(bn(conv(x)).relu(), F::MaxPool2dFuncOptions(2));
    return fc(drop(h.flatten(1)));
  }
  nn::Conv2d conv{nullptr};
  nn::BatchNorm2d bn{nullptr};
  nn::Linear fc{nullptr};
  nn::Dropout drop{nullptr};
};
KILN_MODULE(Net);

TEST(TrainingLoop, ThousandStepsCompileNothingAndKeepMemoryFlat) {
  manual_seed(3);
  Net net;
  optim::Adam adam(net->parameters(), optim::AdamOptions(0.01));
  optim::StepLR schedule(adam, /*step_size=*/10, /*gamma=*/0.7);
  auto loader = data::make_data_loader(Quadrants().map(data::transforms::Stack<>()),
                                       data::DataLoaderOptions().batch_size(32).workers(2));
  Stats early{}, late{};
  int64_t compiled_after_first_epoch = 0;
  double first_epoch_loss = 0, last_epoch_loss = 0;
  int step = 0;
  for (int epoch = 0; epoch < 100; ++epoch) {  // 10 batches per epoch: 1,000 steps
    double epoch_loss = 0;
    for (auto& batch : *loader) {
      adam.zero_grad();
      Tensor loss = F::cross_entropy(net(batch.data), batch.target);
      loss.backward();
      adam.step();
      epoch_loss += loss.item<double>();
      ++step;
    }
    schedule.step();
    // At an epoch's end the workers hold no prepared batch: the same point of every epoch.
    if (epoch == 2) early = stats();
    if (epoch == 99) late = stats();
    if (epoch == 0) first_epoch_loss = epoch_loss, compiled_after_first_epoch = stats().kernels_compiled;
    last_epoch_loss = epoch_loss;
  }
  EXPECT_EQ(step, 1000);
  EXPECT_EQ(stats().kernels_compiled, compiled_after_first_epoch);
  EXPECT_EQ(late.live_nodes, early.live_nodes);
  EXPECT_EQ(late.live_bytes, early.live_bytes);
  EXPECT_LT(last_epoch_loss, 0.2 * first_epoch_loss);  // it learned the quadrants
  // The running statistics followed the batches (the lazy in-place updates were all applied).
  EXPECT_EQ(net->bn->num_batches_tracked.item<int64_t>(), 1000);
}

}  // namespace
}  // namespace kiln
