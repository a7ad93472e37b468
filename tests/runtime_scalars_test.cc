// Scalars a user passes (x * lr, add_(g, alpha), clamp bounds, fill_, full, pow exponents) are
// runtime inputs of the kernels that read them: a new value between steps compiles nothing and
// gives the new value's result. Simplification may use whether such a scalar is 1, +0 or -0.0
// (x * 1 -> x); the schedule key records that, so a schedule is never reused across that line.
#include <gtest/gtest.h>

#include <cmath>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using testing::expect_tensor;
using testing::kInf;

int64_t compiled() { return stats().kernels_compiled; }

TEST(RuntimeScalars, ANewScalarEachStepCompilesNothing) {
  Tensor x = arange(8, dtype(kFloat64)) * 0.125;
  x.eval();
  for (int i = 0; i < 5; ++i) {
    double s = 0.1 * (i + 1);
    int64_t before = compiled();
    Tensor y = (x * s).exp();
    std::vector<double> got = y.to_vector<double>();
    if (i > 0) EXPECT_EQ(compiled(), before) << "step " << i;
    for (int k = 0; k < 8; ++k) EXPECT_NEAR(got[k], std::exp(0.125 * k * s), 1e-14) << "step " << i;
  }
}

TEST(RuntimeScalars, EveryKindOfUserScalarIsAnInput) {
  Tensor x = arange(6, dtype(kFloat32)) - 2.5;  // -2.5 ... 2.5
  x.eval();
  auto run = [&](double a) {
    Tensor g = ones({6});
    Tensor p = x.clone();
    p.add_(g, -a);                                // alpha
    Tensor c = p.clamp(-a, 2 * a);                // bounds
    Tensor f = full({6}, a);                      // full
    Tensor q = (x.abs() + 1).pow(a);              // exponent
    Tensor w = where(x > 0, a, x);                // where's scalar
    Tensor z = zeros({6});
    z.fill_(a * 3);                               // fill_
    return std::vector<Tensor>{c, f, q, w, z};
  };
  auto check = [&](double a, const std::vector<Tensor>& r) {
    std::vector<double> xs = {-2.5, -1.5, -0.5, 0.5, 1.5, 2.5};
    std::vector<double> c, f, q, w, z;
    for (double v : xs) {
      c.push_back(std::min(std::max(v - a, -a), 2 * a));
      f.push_back(a);
      q.push_back(std::pow(std::abs(v) + 1, a));
      w.push_back(v > 0 ? a : v);
      z.push_back(a * 3);
    }
    expect_tensor<double>(r[0], {6}, c, 1e-6);
    expect_tensor<double>(r[1], {6}, f, 1e-6);
    expect_tensor<double>(r[2], {6}, q, 1e-5);
    expect_tensor<double>(r[3], {6}, w, 1e-6);
    expect_tensor<double>(r[4], {6}, z, 1e-6);
  };
  std::vector<Tensor> first = run(0.75);
  eval(first);
  check(0.75, first);
  int64_t before = compiled();
  std::vector<Tensor> second = run(1.25);
  eval(second);
  EXPECT_EQ(compiled(), before);
  check(1.25, second);
}

// 100 SGD steps of a linear model whose learning rate decays every step: the step's kernels
// compile once; the parameters follow the hand-computed recurrence.
TEST(RuntimeScalars, LearningRateScheduleCompilesNothingAfterTheFirstStep) {
  manual_seed(5);
  Tensor x = randn({16, 4}, dtype(kFloat64)).eval();
  Tensor y = randn({16, 1}, dtype(kFloat64)).eval();
  Tensor w = zeros({4, 1}, dtype(kFloat64)).requires_grad_();
  std::vector<double> X = x.to_vector<double>(), Y = y.to_vector<double>(), W(4, 0.0);
  int64_t after_first = 0;
  for (int step = 0; step < 100; ++step) {
    double lr = 0.1 / (1 + 0.05 * step);
    Tensor loss = (x.matmul(w) - y).pow(2).mean();
    loss.backward();
    {
      NoGradGuard no_grad;
      w.sub_(w.grad(), lr);  // the alpha overload, as torch::optim::SGD writes it
      w.grad().zero_();
    }
    w.eval();
    // The same step by hand: grad = 2/N X^T (XW - Y).
    std::vector<double> r(16), g(4, 0.0);
    for (int i = 0; i < 16; ++i) {
      r[i] = -Y[i];
      for (int k = 0; k < 4; ++k) r[i] += X[i * 4 + k] * W[k];
    }
    for (int k = 0; k < 4; ++k) {
      for (int i = 0; i < 16; ++i) g[k] += 2.0 / 16 * X[i * 4 + k] * r[i];
      W[k] -= lr * g[k];
    }
    if (step == 1) after_first = compiled();
  }
  EXPECT_EQ(compiled(), after_first);
  expect_tensor<double>(w, {4, 1}, W, 1e-12);
}

TEST(RuntimeScalars, ScalarsOfOneAndZeroCompileNothingNewAndKeepIeeeResults) {
  Tensor x = tensor({-0.0, 1.5, -2.0, kInf}, dtype(kFloat64)).eval();
  auto run = [&](double s) {
    std::vector<double> got = (x * s + s).to_vector<double>();
    for (size_t i = 0; i < got.size(); ++i) {
      double want = std::vector<double>{-0.0, 1.5, -2.0, kInf}[i] * s + s;
      if (std::isnan(want)) EXPECT_TRUE(std::isnan(got[i])) << s;
      else EXPECT_EQ(got[i], want) << s;
      EXPECT_EQ(std::signbit(got[i]), std::signbit(want)) << "element " << i << " at " << s;
    }
  };
  run(3.0);
  int64_t compiled = stats().kernels_compiled;
  // A learning-rate warm-up passes through 0, a decay may reach 1: the value is never compiled in,
  // and x * 0 + 0 keeps inf * 0 = nan and -0.0 * 1 + -0.0 = -0.0.
  for (double s : {1.0, 0.0, -0.0, 2.0, 1.0}) run(s);
  EXPECT_EQ(stats().kernels_compiled, compiled);
}

}  // namespace
}  // namespace kiln
