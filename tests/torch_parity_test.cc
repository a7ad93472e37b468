// The model layer against LibTorch itself (built only where the optional @torch repository found
// libtorch-dev; CI does not install it): the same inputs through kiln::nn and torch::nn, forward
// values and gradients, BatchNorm's running statistics, and each optimizer's parameters after
// several steps; float16 and bfloat16 elementwise ops and sums, bit for bit.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cstring>
#include <functional>
#include <vector>

#include "kiln/kiln.h"
#include "kiln/nn.h"
#include "kiln/optim/optimizer.h"

namespace {

namespace KF = kiln::nn::functional;
namespace TF = torch::nn::functional;

// The same float64 values in both frameworks, as leaves that require grad.
struct Pair {
  kiln::Tensor k;
  torch::Tensor t;
};
Pair leaf(std::vector<int64_t> shape, uint64_t seed, double scale = 1) {
  torch::manual_seed(seed);
  torch::Tensor t = (torch::randn(shape, torch::kFloat64) * scale).detach();
  std::vector<double> v(t.data_ptr<double>(), t.data_ptr<double>() + t.numel());
  kiln::Tensor k = kiln::tensor(v, kiln::dtype(kiln::kFloat64)).reshape(shape).eval().requires_grad_();
  return {k, t.clone().requires_grad_()};
}

std::vector<double> values(const kiln::Tensor& k) { return k.to(kiln::kFloat64).contiguous().to_vector<double>(); }
std::vector<double> values(const torch::Tensor& t) {
  torch::Tensor d = t.detach().to(torch::kFloat64).contiguous();
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}
void expect_same(const kiln::Tensor& k, const torch::Tensor& t, double tol, const std::string& what) {
  ASSERT_EQ(k.sizes(), t.sizes().vec()) << what;
  std::vector<double> a = values(k), b = values(t);
  for (size_t i = 0; i < a.size(); ++i) ASSERT_NEAR(a[i], b[i], tol * (1 + std::abs(b[i]))) << what << " at " << i;
}

// Forward value and the gradient of sum(out * weights) with respect to every input.
void expect_same_function(const std::vector<Pair>& inputs,
                          const std::function<kiln::Tensor(const std::vector<kiln::Tensor>&)>& kf,
                          const std::function<torch::Tensor(const std::vector<torch::Tensor>&)>& tf, const std::string& what) {
  std::vector<kiln::Tensor> ki;
  std::vector<torch::Tensor> ti;
  for (const Pair& p : inputs) ki.push_back(p.k), ti.push_back(p.t);
  kiln::Tensor ko = kf(ki);
  torch::Tensor to = tf(ti);
  expect_same(ko, to, 1e-10, what + " forward");
  torch::Tensor w = torch::linspace(-1, 2, to.numel(), torch::kFloat64).reshape(to.sizes());
  kiln::Tensor kw = kiln::tensor(values(w), kiln::dtype(kiln::kFloat64)).reshape(to.sizes().vec());
  ko.mul(kw).sum().backward();
  (to * w).sum().backward();
  for (size_t i = 0; i < inputs.size(); ++i) {
    expect_same(inputs[i].k.grad(), inputs[i].t.grad(), 1e-9, what + " grad " + std::to_string(i));
    kiln::Tensor k = inputs[i].k;  // handles: the same leaf
    torch::Tensor t = inputs[i].t;
    k.mutable_grad() = kiln::Tensor();
    t.mutable_grad().reset();
  }
}

TEST(TorchParity, Conv2dOverGeometries) {
  Pair x = leaf({2, 4, 9, 8}, 1), w = leaf({6, 2, 3, 2}, 2), b = leaf({6}, 3);
  expect_same_function(
      {x, w, b},
      [](const auto& v) { return KF::conv2d(v[0], v[1], KF::Conv2dFuncOptions().bias(v[2]).stride({2, 1}).padding(1).dilation({1, 2}).groups(2)); },
      [](const auto& v) { return TF::conv2d(v[0], v[1], TF::Conv2dFuncOptions().bias(v[2]).stride({2, 1}).padding(1).dilation({1, 2}).groups(2)); },
      "conv2d");
}

TEST(TorchParity, Pools) {
  Pair x = leaf({2, 3, 7, 6}, 4);
  expect_same_function({x}, [](const auto& v) { return KF::max_pool2d(v[0], KF::MaxPool2dFuncOptions(3).stride(2).padding(1)); },
                       [](const auto& v) { return TF::max_pool2d(v[0], TF::MaxPool2dFuncOptions(3).stride(2).padding(1)); }, "max_pool2d");
  expect_same_function({x}, [](const auto& v) { return KF::max_pool2d(v[0], KF::MaxPool2dFuncOptions(2).ceil_mode(true)); },
                       [](const auto& v) { return TF::max_pool2d(v[0], TF::MaxPool2dFuncOptions(2).ceil_mode(true)); }, "max_pool2d ceil");
  expect_same_function(
      {x}, [](const auto& v) { return KF::avg_pool2d(v[0], KF::AvgPool2dFuncOptions(3).stride(2).padding(1).count_include_pad(false).ceil_mode(true)); },
      [](const auto& v) { return TF::avg_pool2d(v[0], TF::AvgPool2dFuncOptions(3).stride(2).padding(1).count_include_pad(false).ceil_mode(true)); },
      "avg_pool2d");
  expect_same_function({x}, [](const auto& v) { return KF::adaptive_avg_pool2d(v[0], KF::AdaptiveAvgPool2dFuncOptions({3, 4})); },
                       [](const auto& v) { return TF::adaptive_avg_pool2d(v[0], TF::AdaptiveAvgPool2dFuncOptions({3, 4})); },
                       "adaptive_avg_pool2d");
}

TEST(TorchParity, Losses) {
  Pair x = leaf({4, 5}, 5), p = leaf({6}, 6);
  torch::Tensor target_t = torch::tensor({1, 0, 4, 4}, torch::kInt64);
  kiln::Tensor target_k = kiln::tensor({1, 0, 4, 4});
  torch::Tensor cw_t = torch::tensor({1.0, 2.0, 0.5, 1.0, 3.0}, torch::kFloat64);
  kiln::Tensor cw_k = kiln::tensor({1.0, 2.0, 0.5, 1.0, 3.0}, kiln::dtype(kiln::kFloat64));
  expect_same_function(
      {x}, [&](const auto& v) { return KF::cross_entropy(v[0], target_k, KF::CrossEntropyFuncOptions().weight(cw_k).label_smoothing(0.1)); },
      [&](const auto& v) { return TF::cross_entropy(v[0], target_t, TF::CrossEntropyFuncOptions().weight(cw_t).label_smoothing(0.1)); },
      "cross_entropy");
  torch::Tensor y_t = torch::tensor({0.2, -1.0, 3.0, 0.0, 0.5, 2.0}, torch::kFloat64);
  kiln::Tensor y_k = kiln::tensor({0.2, -1.0, 3.0, 0.0, 0.5, 2.0}, kiln::dtype(kiln::kFloat64));
  expect_same_function({p}, [&](const auto& v) { return KF::smooth_l1_loss(v[0], y_k, KF::SmoothL1LossFuncOptions().beta(0.5)); },
                       // LibTorch 1.13 takes beta as an argument (its options.beta() is ignored).
                       [&](const auto& v) { return TF::smooth_l1_loss(v[0], y_t, TF::SmoothL1LossFuncOptions(), 0.5); }, "smooth_l1");
  expect_same_function({p}, [&](const auto& v) { return KF::l1_loss(v[0], y_k); },
                       [&](const auto& v) { return TF::l1_loss(v[0], y_t); }, "l1");
  torch::Tensor lab_t = torch::tensor({1.0, 0.0, 1.0, 1.0, 0.0, 0.0}, torch::kFloat64);
  kiln::Tensor lab_k = kiln::tensor({1.0, 0.0, 1.0, 1.0, 0.0, 0.0}, kiln::dtype(kiln::kFloat64));
  expect_same_function({p}, [&](const auto& v) { return KF::binary_cross_entropy_with_logits(v[0], lab_k); },
                       [&](const auto& v) { return TF::binary_cross_entropy_with_logits(v[0], lab_t); }, "bce_with_logits");
  expect_same_function({p}, [&](const auto& v) { return KF::binary_cross_entropy(kiln::sigmoid(v[0]), lab_k); },
                       [&](const auto& v) { return TF::binary_cross_entropy(torch::sigmoid(v[0]), lab_t); }, "bce");
}

TEST(TorchParity, BatchNormTrainingAndEval) {
  Pair x = leaf({4, 3, 5, 5}, 7, 2.0);
  kiln::nn::BatchNorm2d kb(3);
  torch::nn::BatchNorm2d tb(3);
  kb->to(kiln::kFloat64);
  tb->to(torch::kFloat64);
  for (int step = 0; step < 3; ++step) {
    expect_same(kb(x.k.mul(step + 1)), tb(x.t * (step + 1)), 1e-9, "batch_norm train");
  }
  expect_same(kb->running_mean, tb->running_mean, 1e-12, "running_mean");
  expect_same(kb->running_var, tb->running_var, 1e-12, "running_var");
  kb->eval();
  tb->eval();
  expect_same(kb(x.k), tb(x.t), 1e-9, "batch_norm eval");
}

// Five steps of an optimizer on a quadratic, in both frameworks.
template <typename KOpt, typename TOpt>
void expect_same_steps(const std::function<KOpt(std::vector<kiln::Tensor>)>& kmake,
                       const std::function<TOpt(std::vector<torch::Tensor>)>& tmake, const std::string& what) {
  Pair w = leaf({3, 4}, 8), v = leaf({4}, 9);
  KOpt ko = kmake({w.k, v.k});
  TOpt to = tmake({w.t, v.t});
  for (int step = 0; step < 5; ++step) {
    ko.zero_grad();
    to.zero_grad();
    w.k.mul(w.k).sum().add(v.k.mul(v.k).mul(v.k).sum()).backward();
    (w.t * w.t).sum().add((v.t * v.t * v.t).sum()).backward();
    ko.step();
    to.step();
  }
  expect_same(w.k, w.t, 1e-10, what + " w");
  expect_same(v.k, v.t, 1e-10, what + " v");
}

// ---- float16 and bfloat16: LibTorch's CPU kernels compute in float32 and round each result --------

// The 16-bit patterns of a float16/bfloat16 tensor of either framework.
std::vector<uint16_t> bits(const kiln::Tensor& k) {
  kiln::Tensor c = k.contiguous();
  std::vector<uint16_t> out(static_cast<size_t>(c.numel()));
  const void* p = c.dtype() == kiln::kFloat16 ? static_cast<const void*>(c.data_ptr<kiln::Half>())
                                               : static_cast<const void*>(c.data_ptr<kiln::BFloat16>());
  std::memcpy(out.data(), p, out.size() * 2);
  return out;
}
std::vector<uint16_t> bits(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous();
  std::vector<uint16_t> out(static_cast<size_t>(c.numel()));
  std::memcpy(out.data(), c.data_ptr(), out.size() * 2);
  return out;
}
void expect_same_bits(const kiln::Tensor& k, const torch::Tensor& t, const std::string& what) {
  ASSERT_EQ(k.sizes(), t.sizes().vec()) << what;
  std::vector<uint16_t> a = bits(k), b = bits(t);
  int differ = 0;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i] != b[i] && ++differ <= 3) ADD_FAILURE() << what << " at " << i << ": kiln " << a[i] << " torch " << b[i];
  EXPECT_EQ(differ, 0) << what;
}

// The same float32 values in both frameworks.
kiln::Tensor to_kiln(const torch::Tensor& t) {
  torch::Tensor c = t.contiguous();
  std::vector<float> v(c.data_ptr<float>(), c.data_ptr<float>() + c.numel());
  return kiln::tensor(v).reshape(c.sizes().vec()).eval();
}

TEST(TorchParity, Float16AndBFloat16ElementwiseAndSumsAgreeBitForBit) {
  for (auto [kt, tt] : {std::pair{kiln::kFloat16, torch::kHalf}, std::pair{kiln::kBFloat16, torch::kBFloat16}}) {
    std::string name(kiln::dtype_name(kt));
    torch::manual_seed(7);
    torch::Tensor a32 = torch::randn({64, 33}) * 3, b32 = torch::randn({64, 33}) * 3;
    torch::Tensor ta = a32.to(tt), tb = b32.to(tt);
    kiln::Tensor ka = to_kiln(a32).to(kt), kb = to_kiln(b32).to(kt);
    expect_same_bits(ka, ta, name + " cast from float32");
    expect_same_bits(ka + kb, ta + tb, name + " add");
    expect_same_bits(ka - kb, ta - tb, name + " sub");
    expect_same_bits(ka * kb, ta * tb, name + " mul");
    expect_same_bits(ka / kb, ta / tb, name + " div");
    expect_same_bits(ka * 2.5 + 1, ta * 2.5 + 1, name + " with scalars");
    // A scalar the 16-bit type cannot hold: LibTorch 1.13 rounds it to the tensor's type first,
    // as Kiln's runtime scalar input does.
    expect_same_bits(ka * 0.1 + 0.3, ta * 0.1 + 0.3, name + " with inexact scalars");
    if (kt == kiln::kBFloat16)  // LibTorch 1.13 has no CPU float16 relu (clamp_min_cpu)
      expect_same_bits(ka.relu(), ta.relu(), name + " relu");
    expect_same_bits(kiln::where(ka > kb, ka, kb * 3), torch::where(ta > tb, ta, tb * 3), name + " where");
    torch::Tensor lt = (ta < tb).to(torch::kInt64).contiguous();
    EXPECT_EQ((ka < kb).to(kiln::kInt64).to_vector<int64_t>(),
              std::vector<int64_t>(lt.data_ptr<int64_t>(), lt.data_ptr<int64_t>() + lt.numel()))
        << name << " lt";
    expect_same_bits(ka.to(kiln::kFloat64).mul(1.1).to(kt), ta.to(torch::kFloat64).mul(1.1).to(tt), name + " from float64");
    expect_same_bits(ka.to(kiln::kFloat16 == kt ? kiln::kBFloat16 : kiln::kFloat16),
                     ta.to(tt == torch::kHalf ? torch::kBFloat16 : torch::kHalf), name + " to the other 16-bit type");
    torch::Tensor widened = ta.to(torch::kFloat32).contiguous();
    EXPECT_EQ(ka.to(kiln::kFloat32).to_vector<float>(),
              std::vector<float>(widened.data_ptr<float>(), widened.data_ptr<float>() + widened.numel()))
        << name << " to float32";
    // Sums of values on a 1/8 grid are exact in float32 whatever the order, so both round alike.
    torch::Tensor grid32 = (torch::rand({16, 301}) * 64).floor() / 8;
    expect_same_bits(to_kiln(grid32).to(kt).sum({1}), grid32.to(tt).sum({1}), name + " sum");
    expect_same_bits(to_kiln(grid32).to(kt).sum(), grid32.to(tt).sum(), name + " sum of all");
  }
}

TEST(TorchParity, Optimizers) {
  namespace ko = kiln::optim;
  namespace to = torch::optim;
  expect_same_steps<ko::SGD, to::SGD>(
      [](auto p) { return ko::SGD(p, ko::SGDOptions(0.1).momentum(0.9).dampening(0.1).weight_decay(0.01)); },
      [](auto p) { return to::SGD(p, to::SGDOptions(0.1).momentum(0.9).dampening(0.1).weight_decay(0.01)); }, "sgd");
  expect_same_steps<ko::SGD, to::SGD>([](auto p) { return ko::SGD(p, ko::SGDOptions(0.1).momentum(0.9).nesterov(true)); },
                                      [](auto p) { return to::SGD(p, to::SGDOptions(0.1).momentum(0.9).nesterov(true)); }, "nesterov");
  expect_same_steps<ko::Adam, to::Adam>([](auto p) { return ko::Adam(p, ko::AdamOptions(0.05).weight_decay(0.1)); },
                                        [](auto p) { return to::Adam(p, to::AdamOptions(0.05).weight_decay(0.1)); }, "adam");
  expect_same_steps<ko::AdamW, to::AdamW>([](auto p) { return ko::AdamW(p, ko::AdamOptions(0.05).weight_decay(0.1)); },
                                          [](auto p) { return to::AdamW(p, to::AdamWOptions(0.05).weight_decay(0.1)); }, "adamw");
  expect_same_steps<ko::RMSprop, to::RMSprop>(
      [](auto p) { return ko::RMSprop(p, ko::RMSpropOptions(0.01).centered(true).momentum(0.5)); },
      [](auto p) { return to::RMSprop(p, to::RMSpropOptions(0.01).centered(true).momentum(0.5)); }, "rmsprop");
}

}  // namespace
