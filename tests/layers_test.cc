// BatchNorm, the containers, Softmax/LogSoftmax modules, the elementwise losses, F::pad and the
// initializers, against values computed by hand (in double, in the test) and float64 gradcheck.
#include <gtest/gtest.h>

#include <cmath>
#include <numeric>
#include <sstream>
#include <vector>

#include "kiln/kiln.h"
#include "kiln/nn.h"
#include "tests/testing.h"

namespace kiln {
namespace {

namespace F = nn::functional;
using testing::expect_near;
using testing::values;
using testing::expect_tensor;

TEST(BatchNorm, TrainingNormalizesByTheBatchAndUpdatesRunningStatistics) {
  // Two channels over a batch of 4: channel 0 holds 1, 2, 3, 6; channel 1 holds 0, 0, 4, 4.
  std::vector<double> c0{1, 2, 3, 6}, c1{0, 0, 4, 4};
  Tensor x = tensor({{1.0, 0.0}, {2.0, 0.0}, {3.0, 4.0}, {6.0, 4.0}}, dtype(kFloat64));
  nn::BatchNorm1d bn(nn::BatchNormOptions(2).eps(0));
  bn->to(kFloat64);
  Tensor y = bn(x);
  auto stats = [](const std::vector<double>& v) {
    double mean = std::accumulate(v.begin(), v.end(), 0.0) / 4, ss = 0;
    for (double e : v) ss += (e - mean) * (e - mean);
    return std::pair{mean, ss};
  };
  auto [m0, ss0] = stats(c0);
  auto [m1, ss1] = stats(c1);
  std::vector<double> want;
  for (int i = 0; i < 4; ++i) {
    want.push_back((c0[i] - m0) / std::sqrt(ss0 / 4));
    want.push_back((c1[i] - m1) / std::sqrt(ss1 / 4));
  }
  expect_near(values(y), want, 1e-12);
  // The running statistics move 10% towards the batch's mean and unbiased variance.
  expect_near(values(bn->running_mean), {0.1 * m0, 0.1 * m1}, 1e-12);
  expect_near(values(bn->running_var), {0.9 + 0.1 * ss0 / 3, 0.9 + 0.1 * ss1 / 3}, 1e-12);
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 1);
  // A second step, nothing read in between: the updates compound.
  bn(x);
  expect_near(values(bn->running_mean), {0.19 * m0, 0.19 * m1}, 1e-12);
  // Eval mode normalizes by the running statistics and leaves them alone.
  bn->eval();
  Tensor e = bn(x);
  double rm0 = 0.19 * m0, rv0 = 0.81 + 0.19 * ss0 / 3;
  EXPECT_NEAR(values(e)[0], (1 - rm0) / std::sqrt(rv0), 1e-12);
  expect_near(values(bn->running_mean), {0.19 * m0, 0.19 * m1}, 1e-12);
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 2);
}

TEST(BatchNorm, TwoDimensionalCumulativeAverageAndAffine) {
  manual_seed(2);
  nn::BatchNorm2d bn(nn::BatchNormOptions(3).momentum(std::nullopt));
  bn->to(kFloat64);
  Tensor a = randn({2, 3, 4, 5}, dtype(kFloat64)), b = randn({2, 3, 4, 5}, dtype(kFloat64)).mul(3).add(1);
  {
    NoGradGuard no_grad;
    bn->weight.copy_(tensor({1.0, 2.0, 3.0}, dtype(kFloat64)));
    bn->bias.copy_(tensor({0.5, 0.0, -1.0}, dtype(kFloat64)));
  }
  Tensor ya = bn(a);
  bn(b);
  // With no momentum the running mean is the plain average of the two batches' means.
  Tensor batch_means = a.mean({0, 2, 3}).add(b.mean({0, 2, 3})).div(2);
  expect_near(values(bn->running_mean), values(batch_means), 1e-12);
  // Per channel, the output has mean bias and (biased) standard deviation |weight|.
  expect_near(values(ya.mean({0, 2, 3})), {0.5, 0.0, -1.0}, 1e-9);
  Tensor centered = ya.sub(ya.mean({0, 2, 3}, true));
  expect_near(values(centered.mul(centered).mean({0, 2, 3}).sqrt()), {1, 2, 3}, 1e-4);  // eps 1e-5 shrinks it slightly
  std::ostringstream os;
  os << bn;
  EXPECT_EQ(os.str(), "BatchNorm2d(3, eps=1e-05, momentum=None, affine=true, track_running_stats=true)");
}

TEST(BatchNorm, GradcheckAndErrors) {
  manual_seed(3);
  Tensor x = testing::random_leaf({3, 2, 2, 2}), w = testing::random_leaf({2}), b = testing::random_leaf({2});
  EXPECT_TRUE(autograd::gradcheck(
      [](const autograd::tensor_list& t) {
        return autograd::tensor_list{F::batch_norm(t[0], {}, {}, F::BatchNormFuncOptions().weight(t[1]).bias(t[2]).training(true))};
      },
      {x, w, b}));
  nn::BatchNorm2d bn(4);
  int line = __LINE__ + 1;
  EXPECT_KILN_ERROR(bn(zeros({2, 4, 5})), "BatchNorm2d", "[N, 4, H, W]", "[2, 4, 5]",
                    "layers_test.cc:" + std::to_string(line));
  EXPECT_KILN_ERROR(bn(zeros({1, 4, 1, 1})), "batch_norm", "more than 1 value per channel");
  Tensor before = bn->running_mean.clone();
  EXPECT_TRUE(bn->running_mean.equal(before));  // the failed calls changed nothing
  EXPECT_EQ(bn->num_batches_tracked.item<int64_t>(), 0);
}

TEST(Containers, ModuleListAndModuleDict) {
  nn::ModuleList list(nn::Linear(2, 3), nn::ReLU(), nn::Linear(3, 1));
  EXPECT_EQ(list->size(), 3u);
  EXPECT_EQ(list->parameters().size(), 4u);
  EXPECT_NE(list[0]->as<nn::Linear>(), nullptr);
  EXPECT_EQ(list[1]->as<nn::Linear>(), nullptr);
  EXPECT_EQ(list->ptr<nn::LinearImpl>(2)->options.out_features_, 1);
  Tensor x = ones({4, 2});
  for (const auto& m : *list) {
    if (auto* fc = m->as<nn::Linear>()) x = fc->forward(x);
    else x = m->as<nn::ReLU>()->forward(x);
  }
  EXPECT_EQ(x.sizes(), (std::vector<int64_t>{4, 1}));
  EXPECT_THROW(list->ptr(3), Error);

  nn::ModuleDict dict(std::vector<std::pair<std::string, std::shared_ptr<nn::Module>>>{
      {"encoder", nn::Linear(4, 2).ptr()}, {"act", nn::Tanh().ptr()}});
  EXPECT_EQ(dict->keys(), (std::vector<std::string>{"encoder", "act"}));
  dict->update("encoder", nn::Linear(4, 8));  // replaces in place, keeping the order
  EXPECT_EQ(dict->keys(), (std::vector<std::string>{"encoder", "act"}));
  EXPECT_EQ(dict["encoder"]->as<nn::Linear>()->options.out_features_, 8);
  EXPECT_EQ(dict->named_parameters().keys(), (std::vector<std::string>{"encoder.weight", "encoder.bias"}));
  EXPECT_THROW(dict["decoder"], Error);
  dict->eval();
  EXPECT_FALSE(dict["act"]->is_training());
}

TEST(SoftmaxModules, MatchTheFunctions) {
  Tensor x = tensor({{1.0, 2.0, 3.0}}, dtype(kFloat64));
  double z = std::exp(1.0) + std::exp(2.0) + std::exp(3.0);
  expect_near(values(nn::Softmax(1)(x)), {std::exp(1.0) / z, std::exp(2.0) / z, std::exp(3.0) / z}, 1e-12);
  expect_near(values(nn::LogSoftmax(1)(x)), {1 - std::log(z), 2 - std::log(z), 3 - std::log(z)}, 1e-12);
}

TEST(Losses, ElementwiseLossesByHand) {
  Tensor in = tensor({0.5, -1.0, 3.0}, dtype(kFloat64)), target = tensor({0.0, 1.0, 2.5}, dtype(kFloat64));
  // |d| = 0.5, 2, 0.5.
  EXPECT_NEAR(F::l1_loss(in, target).item<double>(), 3.0 / 3, 1e-12);
  EXPECT_NEAR(F::l1_loss(in, target, F::L1LossFuncOptions().reduction(kSum)).item<double>(), 3.0, 1e-12);
  // beta 1: 0.5 * 0.25, 2 - 0.5, 0.5 * 0.25.
  EXPECT_NEAR(F::smooth_l1_loss(in, target).item<double>(), (0.125 + 1.5 + 0.125) / 3, 1e-12);
  expect_near(values(F::smooth_l1_loss(in, target, F::SmoothL1LossFuncOptions().beta(0.25).reduction(kNone))),
              {0.5 - 0.125, 2 - 0.125, 0.5 - 0.125}, 1e-12);
  Tensor p = tensor({0.9, 0.2, 0.0}, dtype(kFloat64)), t = tensor({1.0, 0.0, 1.0}, dtype(kFloat64));
  // -log 0.9, -log 0.8, and -log 0 clamped to 100.
  EXPECT_NEAR(F::binary_cross_entropy(p, t).item<double>(), (-std::log(0.9) - std::log(0.8) + 100) / 3, 1e-9);
  Tensor logits = tensor({2.0, -1.0, 200.0}, dtype(kFloat64)), y = tensor({1.0, 0.0, 0.0}, dtype(kFloat64));
  auto softplus = [](double v) { return std::log1p(std::exp(-std::abs(v))) + std::max(v, 0.0); };
  // -log s(2) = softplus(-2); -log(1 - s(-1)) = softplus(-1); a logit of 200 with target 0 costs 200 (finite).
  double want = (softplus(-2) + softplus(-1) + 200) / 3;
  EXPECT_NEAR(F::binary_cross_entropy_with_logits(logits, y).item<double>(), want, 1e-12);
  Tensor pw = tensor({3.0, 3.0, 3.0}, dtype(kFloat64));
  EXPECT_NEAR(F::binary_cross_entropy_with_logits(logits, y, F::BinaryCrossEntropyWithLogitsFuncOptions().pos_weight(pw))
                  .item<double>(),
              (3 * softplus(-2) + softplus(-1) + 200) / 3, 1e-12);
  EXPECT_KILN_ERROR(F::l1_loss(in, tensor({1.0})), "l1_loss", "[3]", "[1]");
}

TEST(Losses, ElementwiseLossGradients) {
  manual_seed(4);
  Tensor x = testing::random_leaf({5}), t = randn({5}, dtype(kFloat64));
  Tensor probs = (rand({5}, dtype(kFloat64)) * 0.8 + 0.1).requires_grad_();
  Tensor labels = rand({5}, dtype(kFloat64)).gt(0.5).to(kFloat64);
  auto passes = [](std::function<Tensor(const Tensor&)> f, const Tensor& in) {
    return autograd::gradcheck([&](const autograd::tensor_list& v) { return autograd::tensor_list{f(v[0])}; }, {in});
  };
  EXPECT_TRUE(passes([&](const Tensor& v) { return F::smooth_l1_loss(v, t, F::SmoothL1LossFuncOptions().beta(0.5)); }, x));
  EXPECT_TRUE(passes([&](const Tensor& v) { return F::l1_loss(v, t); }, x));
  EXPECT_TRUE(passes([&](const Tensor& v) { return F::binary_cross_entropy(v, labels); }, probs));
  EXPECT_TRUE(passes([&](const Tensor& v) { return F::binary_cross_entropy_with_logits(v, labels); }, x));
}

TEST(Pad, ConstantReflectReplicateCircular) {
  Tensor x = tensor({{{0.0, 1.0, 2.0, 3.0}}}, dtype(kFloat64));  // [1, 1, 4]
  expect_near(values(F::pad(x, F::PadFuncOptions({2, 1}).value(9))), {9, 9, 0, 1, 2, 3, 9}, 0);
  expect_near(values(F::pad(x, F::PadFuncOptions({-1, 1}))), {1, 2, 3, 0}, 0);  // a negative pad crops
  expect_near(values(F::pad(x, F::PadFuncOptions({2, 2}).mode(kReflect))), {2, 1, 0, 1, 2, 3, 2, 1}, 0);
  expect_near(values(F::pad(x, F::PadFuncOptions({2, 1}).mode(kReplicate))), {0, 0, 0, 1, 2, 3, 3}, 0);
  expect_near(values(F::pad(x, F::PadFuncOptions({1, 2}).mode(kCircular))), {3, 0, 1, 2, 3, 0, 1}, 0);
  // Two dims: rows then columns.
  Tensor g = arange(4, dtype(kFloat64)).reshape({1, 1, 2, 2});
  expect_near(values(F::pad(g, F::PadFuncOptions({1, 0, 0, 1}).mode(kReplicate))), {0, 0, 1, 2, 2, 3, 2, 2, 3}, 0);
  EXPECT_KILN_ERROR(F::pad(x, F::PadFuncOptions({4, 0}).mode(kReflect)), "pad", "size 4");
  Tensor leaf = testing::random_leaf({1, 2, 3, 3});
  EXPECT_TRUE(autograd::gradcheck(
      [](const autograd::tensor_list& v) {
        return autograd::tensor_list{F::pad(v[0], F::PadFuncOptions({1, 2, 2, 1}).mode(kReflect))};
      },
      {leaf}));
}

TEST(Init, DistributionsMatchTheirParameters) {
  manual_seed(5);
  Tensor w = empty({256, 128, 3, 3});  // fan_in 1152, fan_out 2304
  auto mean_std = [](const Tensor& t) {
    std::vector<double> v = values(t);
    double m = std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size()), ss = 0;
    for (double e : v) ss += (e - m) * (e - m);
    return std::pair{m, std::sqrt(ss / static_cast<double>(v.size()))};
  };
  nn::init::kaiming_normal_(w, 0, nn::init::FanMode::FanIn, nn::init::Nonlinearity::ReLU);
  auto [m, s] = mean_std(w);
  EXPECT_NEAR(m, 0, 1e-3);
  EXPECT_NEAR(s, std::sqrt(2.0 / 1152), 0.01 * std::sqrt(2.0 / 1152));
  nn::init::kaiming_normal_(w, 0, nn::init::FanMode::FanOut, nn::init::Nonlinearity::ReLU);
  EXPECT_NEAR(mean_std(w).second, std::sqrt(2.0 / 2304), 0.01 * std::sqrt(2.0 / 2304));
  nn::init::xavier_uniform_(w);  // U(-a, a), a = sqrt(6 / (fan_in + fan_out)): std a / sqrt(3)
  double a = std::sqrt(6.0 / (1152 + 2304));
  std::vector<double> v = values(w);
  EXPECT_LE(*std::max_element(v.begin(), v.end()), a);
  EXPECT_GE(*std::min_element(v.begin(), v.end()), -a);
  EXPECT_NEAR(mean_std(w).second, a / std::sqrt(3.0), 0.01 * a);
  nn::init::normal_(w, 2, 0.5);
  auto [m2, s2] = mean_std(w);
  EXPECT_NEAR(m2, 2, 0.005);
  EXPECT_NEAR(s2, 0.5, 0.005);
  nn::init::ones_(w);
  EXPECT_EQ(w.sum().item<double>(), static_cast<double>(w.numel()));
  nn::init::zeros_(w);
  EXPECT_EQ(w.abs().sum().item<double>(), 0);
}

}  // namespace
}  // namespace kiln
