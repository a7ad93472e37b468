// kiln::nn as LibTorch users write it: a module tree with the holder pattern, parameters in
// registration order, train/eval, Linear's initialization and errors, Sequential, Dropout, and
// the losses against hand-computed values (LibTorch 1.13 gives the same numbers).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <sstream>

#include "kiln/kiln.h"
#include "kiln/nn/modules.h"
#include "tests/testing.h"

namespace kiln {
namespace {

namespace F = nn::functional;
using testing::expect_tensor;

struct NetImpl : nn::Module {
  NetImpl() : nn::Module("Net") {
    fc1 = register_module("fc1", nn::Linear(4, 3));
    fc2 = register_module("fc2", nn::Linear(nn::LinearOptions(3, 2).bias(false)));
    drop = register_module("drop", nn::Dropout(0.5));
    register_buffer("steps", zeros({1}, dtype(kInt64)));
  }
  Tensor forward(const Tensor& x) { return fc2(drop(fc1(x).relu())); }
  nn::Linear fc1{nullptr}, fc2{nullptr};
  nn::Dropout drop{nullptr};
};
KILN_MODULE(Net);

TEST(Module, TreeParametersBuffersAndModes) {
  manual_seed(1);
  Net net;
  std::vector<std::string> names;
  for (auto& p : net->named_parameters()) names.push_back(p.key());
  EXPECT_EQ(names, (std::vector<std::string>{"fc1.weight", "fc1.bias", "fc2.weight"}));
  EXPECT_EQ(net->parameters().size(), 3u);
  EXPECT_TRUE(net->parameters()[0].requires_grad());
  EXPECT_TRUE(net->parameters()[0].is_leaf());
  EXPECT_EQ(net->named_buffers().keys(), (std::vector<std::string>{"steps"}));
  EXPECT_EQ(net->modules().size(), 4u);  // Net, fc1, fc2, drop
  EXPECT_EQ(net->named_modules(false).keys(), (std::vector<std::string>{"fc1", "fc2", "drop"}));
  EXPECT_TRUE(net->drop->is_training());
  net->eval();
  EXPECT_FALSE(net->drop->is_training());
  Tensor x = ones({2, 4});
  EXPECT_TRUE(net->forward(x).allclose(net->forward(x)));  // no dropout in eval mode
  std::ostringstream os;
  os << *net;
  EXPECT_EQ(os.str(),
            "Net(\n  (fc1): Linear(in_features=4, out_features=3, bias=true)\n"
            "  (fc2): Linear(in_features=3, out_features=2, bias=false)\n  (drop): Dropout(p=0.5, inplace=false)\n)");
}

TEST(Module, GradientsZeroGradAndDtype) {
  Net net;
  net->forward(ones({2, 4})).sum().backward();
  EXPECT_TRUE(net->fc1->weight.grad().defined());
  net->zero_grad();
  EXPECT_FALSE(net->fc1->weight.grad().defined());
  Tensor held = net->fc1->weight;  // a handle held elsewhere (an optimizer's) sees to()
  net->to(kFloat64);
  EXPECT_EQ(held.dtype(), kFloat64);
  EXPECT_TRUE(held.requires_grad());
  EXPECT_EQ(net->forward(ones({1, 4}, dtype(kFloat64))).dtype(), kFloat64);
}

TEST(Linear, InitializationBoundsForwardAndErrors) {
  manual_seed(3);
  nn::Linear fc(100, 50);
  double bound = 1 / std::sqrt(100.0);
  EXPECT_LE(fc->weight.abs().max().item<double>(), bound);
  EXPECT_GT(fc->weight.abs().max().item<double>(), 0.9 * bound);  // spread over the whole range
  EXPECT_LE(fc->bias.abs().max().item<double>(), bound);
  EXPECT_EQ(fc->weight.sizes(), (Shape{50, 100}));
  nn::Linear small(2, 1);
  small->weight.set_data(tensor({{2.0f, -1.0f}}));
  small->bias.set_data(tensor({0.5f}));
  expect_tensor<float>(small(tensor({{1.0f, 3.0f}, {0.0f, 1.0f}})), {2, 1}, {-0.5, -0.5});
  EXPECT_KILN_ERROR(fc(ones({2, 99})), "Linear", "100 features", "[2, 99]");
}

TEST(Sequential, RunsInOrderAndNamesItsChildren) {
  nn::Sequential seq(nn::Linear(3, 4), nn::ReLU(), nn::Flatten(), nn::Linear(4, 2));
  EXPECT_EQ(seq->size(), 4u);
  EXPECT_EQ(seq->named_parameters().keys(),
            (std::vector<std::string>{"0.weight", "0.bias", "3.weight", "3.bias"}));
  EXPECT_EQ(seq(ones({5, 3})).sizes(), (Shape{5, 2}));
  // A shape error inside names the layer and the line that called the Sequential.
  int line = __LINE__ + 1;
  EXPECT_KILN_ERROR(seq(ones({5, 7})), "Linear", "[*, 3]", "[5, 7]", "nn_test.cc:" + std::to_string(line));
}

TEST(Dropout, TrainingScalesAndEvalIsIdentity) {
  manual_seed(4);
  nn::Dropout drop(0.25);
  Tensor x = ones({20000}, dtype(kFloat64));
  Tensor y = drop(x);
  std::vector<double> v = y.to_vector<double>();
  int64_t zeros = std::count(v.begin(), v.end(), 0.0);
  EXPECT_NEAR(zeros / 20000.0, 0.25, 0.02);
  for (double e : v) EXPECT_TRUE(e == 0.0 || std::fabs(e - 1 / 0.75) < 1e-12);
  drop->eval();
  EXPECT_TRUE(drop(x).equal(x));
  try {  // a constructor's error names the layer and the value (module constructors take no location)
    nn::Dropout bad(1.5);
    ADD_FAILURE() << "expected kiln::Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.op(), "Dropout");
    EXPECT_NE(std::string(e.what()).find("between 0 and 1, but got 1.5"), std::string::npos) << e.what();
  }
}

TEST(Losses, MatchHandComputedValues) {
  Tensor logits = tensor({{2.0, 1.0, 0.1}, {0.5, 2.5, 0.3}}, dtype(kFloat64));
  Tensor target = tensor({0, 2});
  auto log_softmax_row = [](std::vector<double> z, int k) {
    double m = *std::max_element(z.begin(), z.end()), s = 0;
    for (double v : z) s += std::exp(v - m);
    return z[k] - m - std::log(s);
  };
  double l0 = -log_softmax_row({2.0, 1.0, 0.1}, 0), l1 = -log_softmax_row({0.5, 2.5, 0.3}, 2);
  EXPECT_NEAR(F::cross_entropy(logits, target).item<double>(), (l0 + l1) / 2, 1e-12);
  EXPECT_NEAR(F::cross_entropy(logits, target, F::CrossEntropyFuncOptions().reduction(nn::Reduction::Sum)).item<double>(),
              l0 + l1, 1e-12);
  // Class weights: a weighted mean.
  Tensor w = tensor({1.0, 1.0, 3.0}, dtype(kFloat64));
  EXPECT_NEAR(F::cross_entropy(logits, target, F::CrossEntropyFuncOptions().weight(w)).item<double>(),
              (l0 + 3 * l1) / 4, 1e-12);
  // ignore_index drops the row from the sum and the count.
  EXPECT_NEAR(F::cross_entropy(logits, tensor({0, -100})).item<double>(), l0, 1e-12);
  // Label smoothing 0.1: 0.9 * nll + 0.1 * mean over classes of -log p.
  double smooth0 = 0, smooth1 = 0;
  for (int k = 0; k < 3; ++k) smooth0 -= log_softmax_row({2.0, 1.0, 0.1}, k), smooth1 -= log_softmax_row({0.5, 2.5, 0.3}, k);
  EXPECT_NEAR(F::cross_entropy(logits, target, F::CrossEntropyFuncOptions().label_smoothing(0.1)).item<double>(),
              0.9 * (l0 + l1) / 2 + 0.1 / 3 * (smooth0 + smooth1) / 2, 1e-12);
  EXPECT_NEAR(F::nll_loss(log_softmax(logits, 1), target).item<double>(), (l0 + l1) / 2, 1e-12);
  EXPECT_NEAR(F::mse_loss(tensor({1.0, 2.0}), tensor({0.0, 4.0})).item<double>(), 2.5, 1e-6);
  expect_tensor<int64_t>(F::one_hot(tensor({2, 0})), {2, 3}, {0, 0, 1, 1, 0, 0});
  EXPECT_KILN_ERROR(F::cross_entropy(logits, tensor({0, 1, 2})), "cross_entropy", "[2]", "[3]");
}

TEST(Losses, GradientsMatchFiniteDifferences) {
  Tensor target = tensor({1, 0, 2});
  Tensor logits = testing::random_leaf({3, 3});
  EXPECT_TRUE(autograd::gradcheck(
      [&](const autograd::tensor_list& t) {
        return autograd::tensor_list{F::cross_entropy(t[0], target, F::CrossEntropyFuncOptions().label_smoothing(0.2))};
      },
      {logits}));
  nn::Linear fc(3, 2);
  fc->to(kFloat64);
  EXPECT_TRUE(autograd::gradcheck([&](const autograd::tensor_list& t) { return autograd::tensor_list{fc(t[0])}; },
                                  {logits}));
}

TEST(LayerNormAndEmbedding, ValuesGradientsAndErrors) {
  Tensor x = tensor({{1.0, 2.0, 3.0}, {2.0, 2.0, 8.0}}, dtype(kFloat64));
  nn::LayerNorm norm(nn::LayerNormOptions({3}).eps(0));
  norm->to(kFloat64);
  // Row 1: mean 2, biased variance 2/3; row 2: mean 4, variance 8.
  double s1 = std::sqrt(2.0 / 3), s2 = std::sqrt(8.0);
  expect_tensor<double>(norm(x), {2, 3}, {-1 / s1, 0, 1 / s1, -2 / s2, -2 / s2, 4 / s2}, 1e-12);
  EXPECT_EQ(norm->named_parameters().keys(), (std::vector<std::string>{"weight", "bias"}));
  Tensor leaf = testing::random_leaf({2, 4});
  Tensor w = testing::random_leaf({4}), b = testing::random_leaf({4});
  EXPECT_TRUE(autograd::gradcheck(
      [](const autograd::tensor_list& t) {
        return autograd::tensor_list{F::layer_norm(t[0], F::LayerNormFuncOptions({4}).weight(t[1]).bias(t[2]))};
      },
      {leaf, w, b}));
  EXPECT_KILN_ERROR(F::layer_norm(x, F::LayerNormFuncOptions({4})), "layer_norm", "[4]", "[2, 3]");

  nn::Embedding table(5, 2);
  table->weight.set_data(arange(10, dtype(kFloat32)).reshape({5, 2}));
  expect_tensor<float>(table(tensor({{4, 0}, {1, 1}})), {2, 2, 2}, {8, 9, 0, 1, 2, 3, 2, 3});
  table(tensor({4, 4})).sum().backward();
  expect_tensor<float>(table->weight.grad(), {5, 2}, {0, 0, 0, 0, 0, 0, 0, 0, 2, 2});  // rows used twice
  EXPECT_KILN_ERROR(table(tensor({0.5})), "embedding", "integer");
}

}  // namespace
}  // namespace kiln
