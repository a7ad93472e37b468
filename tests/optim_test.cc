// kiln::optim's updates over several steps against the same formulas computed by hand in double
// (PyTorch's definitions: SGD with momentum, dampening, weight decay and Nesterov; Adam; AdamW),
// and a training loop with an optimizer that keeps flat memory and compiles nothing after its
// second step.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <vector>

#include "kiln/kiln.h"
#include "kiln/nn/modules.h"
#include "kiln/optim/optimizer.h"
#include "kiln/optim/schedulers.h"

namespace kiln {
namespace {

// Minimizes sum(c * p^2 / 2) (gradient c * p) for `steps` steps; returns p's values.
template <typename MakeOptimizer>
std::vector<double> run(MakeOptimizer make, int steps) {
  Tensor p = tensor({1.0, -2.0, 0.5}, dtype(kFloat64).requires_grad(true));
  Tensor c = tensor({1.0, 3.0, 0.5}, dtype(kFloat64));
  auto opt = make(std::vector<Tensor>{p});
  for (int i = 0; i < steps; ++i) {
    opt.zero_grad();
    (c * p * p / 2).sum().backward();
    opt.step();
  }
  return p.to_vector<double>();
}

std::vector<double> reference_sgd(double lr, double momentum, double dampening, double wd, bool nesterov, int steps) {
  std::vector<double> p = {1.0, -2.0, 0.5}, c = {1.0, 3.0, 0.5}, buf(3);
  for (int s = 0; s < steps; ++s)
    for (int i = 0; i < 3; ++i) {
      double d = c[i] * p[i] + wd * p[i];
      if (momentum != 0) {
        buf[i] = s == 0 ? d : momentum * buf[i] + (1 - dampening) * d;
        d = nesterov ? d + momentum * buf[i] : buf[i];
      }
      p[i] -= lr * d;
    }
  return p;
}

std::vector<double> reference_adam(double lr, double b1, double b2, double eps, double wd, bool decoupled, int steps) {
  std::vector<double> p = {1.0, -2.0, 0.5}, c = {1.0, 3.0, 0.5}, m(3), v(3);
  for (int s = 1; s <= steps; ++s)
    for (int i = 0; i < 3; ++i) {
      double g = c[i] * p[i];
      if (decoupled) p[i] *= 1 - lr * wd;
      else g += wd * p[i];
      m[i] = b1 * m[i] + (1 - b1) * g;
      v[i] = b2 * v[i] + (1 - b2) * g * g;
      double denom = std::sqrt(v[i]) / std::sqrt(1 - std::pow(b2, s)) + eps;
      p[i] -= lr / (1 - std::pow(b1, s)) * m[i] / denom;
    }
  return p;
}

void expect_near(const std::vector<double>& got, const std::vector<double>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-12) << i;
}

TEST(SGD, MomentumDampeningWeightDecayNesterov) {
  expect_near(run([](std::vector<Tensor> ps) { return optim::SGD(ps, optim::SGDOptions(0.1)); }, 5),
              reference_sgd(0.1, 0, 0, 0, false, 5));
  expect_near(run([](std::vector<Tensor> ps) { return optim::SGD(ps, optim::SGDOptions(0.1).momentum(0.9)); }, 5),
              reference_sgd(0.1, 0.9, 0, 0, false, 5));
  expect_near(run([](std::vector<Tensor> ps) {
                return optim::SGD(ps, optim::SGDOptions(0.05).momentum(0.8).dampening(0.3).weight_decay(0.01));
              }, 5),
              reference_sgd(0.05, 0.8, 0.3, 0.01, false, 5));
  expect_near(run([](std::vector<Tensor> ps) {
                return optim::SGD(ps, optim::SGDOptions(0.1).momentum(0.9).nesterov(true));
              }, 5),
              reference_sgd(0.1, 0.9, 0, 0, true, 5));
}

TEST(Adam, AdamAndAdamW) {
  expect_near(run([](std::vector<Tensor> ps) { return optim::Adam(ps, optim::AdamOptions(0.1)); }, 6),
              reference_adam(0.1, 0.9, 0.999, 1e-8, 0, false, 6));
  expect_near(run([](std::vector<Tensor> ps) { return optim::Adam(ps, optim::AdamOptions(0.05).weight_decay(0.1)); }, 6),
              reference_adam(0.05, 0.9, 0.999, 1e-8, 0.1, false, 6));
  expect_near(run([](std::vector<Tensor> ps) {
                return optim::AdamW(ps, optim::AdamOptions(0.05).betas({0.8, 0.99}).weight_decay(0.1));
              }, 6),
              reference_adam(0.05, 0.8, 0.99, 1e-8, 0.1, true, 6));
}

std::vector<double> reference_rmsprop(double lr, double alpha, double eps, double momentum, bool centered, int steps) {
  std::vector<double> p = {1.0, -2.0, 0.5}, c = {1.0, 3.0, 0.5}, sq(3), ga(3), buf(3);
  for (int s = 0; s < steps; ++s)
    for (int i = 0; i < 3; ++i) {
      double g = c[i] * p[i];
      sq[i] = alpha * sq[i] + (1 - alpha) * g * g;
      double avg;
      if (centered) {
        ga[i] = alpha * ga[i] + (1 - alpha) * g;
        avg = std::sqrt(sq[i] - ga[i] * ga[i]) + eps;
      } else {
        avg = std::sqrt(sq[i]) + eps;
      }
      if (momentum > 0) {
        buf[i] = momentum * buf[i] + g / avg;
        p[i] -= lr * buf[i];
      } else {
        p[i] -= lr * g / avg;
      }
    }
  return p;
}

TEST(RMSprop, PlainCenteredAndWithMomentum) {
  expect_near(run([](std::vector<Tensor> ps) { return optim::RMSprop(ps, optim::RMSpropOptions(0.01)); }, 6),
              reference_rmsprop(0.01, 0.99, 1e-8, 0, false, 6));
  expect_near(run([](std::vector<Tensor> ps) {
                return optim::RMSprop(ps, optim::RMSpropOptions(0.01).alpha(0.9).centered(true).momentum(0.5));
              }, 6),
              reference_rmsprop(0.01, 0.9, 1e-8, 0.5, true, 6));
}

TEST(Optimizer, LearningRateChangesCompileNothingAndMemoryStaysFlat) {
  manual_seed(2);
  nn::Sequential model(nn::Linear(8, 16), nn::ReLU(), nn::Linear(16, 3));
  optim::Adam opt(model->parameters(), optim::AdamOptions(0.01));
  Tensor x = randn({32, 8}).eval();
  Tensor y = randint(0, 3, {32}).eval();
  Stats after_two{}, after_three{}, end{};
  double first = 0, last = 0;
  for (int step = 0; step < 300; ++step) {
    opt.param_groups()[0].options().set_lr(0.01 * (1 - step / 400.0));  // a schedule
    opt.zero_grad();
    Tensor loss = nn::functional::cross_entropy(model(x), y);
    loss.backward();
    opt.step();
    if (step == 0) first = loss.item<double>();
    if (step == 1) after_two = stats();
    last = loss.item<double>();
    if (step == 2) after_three = stats();  // both at the same point of a step
    if (step == 299) end = stats();
  }
  EXPECT_EQ(end.kernels_compiled, after_two.kernels_compiled);
  EXPECT_EQ(end.live_nodes, after_three.live_nodes);
  EXPECT_EQ(end.live_bytes, after_three.live_bytes);
  EXPECT_LT(last, 0.5 * first);  // it learns
}

TEST(Schedulers, StepCosinePlateau) {
  Tensor p = zeros({1}, requires_grad());
  optim::SGD opt({p}, optim::SGDOptions(1.0));
  auto lr = [&] { return opt.param_groups()[0].options().get_lr(); };
  optim::StepLR step(opt, 2, 0.5);
  std::vector<double> rates;
  for (int i = 0; i < 5; ++i) step.step(), rates.push_back(lr());
  EXPECT_EQ(rates, (std::vector<double>{1.0, 0.5, 0.5, 0.25, 0.25}));

  optim::SGD opt2({p}, optim::SGDOptions(0.1));
  optim::CosineAnnealingLR cosine(opt2, 4, 0.01);
  cosine.step();
  EXPECT_NEAR(opt2.param_groups()[0].options().get_lr(), 0.01 + 0.09 * (1 + std::cos(M_PI / 4)) / 2, 1e-15);
  for (int i = 0; i < 3; ++i) cosine.step();
  EXPECT_NEAR(opt2.param_groups()[0].options().get_lr(), 0.01, 1e-15);

  optim::SGD opt3({p}, optim::SGDOptions(1.0));
  optim::ReduceLROnPlateau plateau(opt3, 0.5, 2);
  for (double metric : {1.0, 0.9, 0.95, 0.95, 0.95}) plateau.step(metric);  // 3 steps without improving
  EXPECT_EQ(opt3.param_groups()[0].options().get_lr(), 0.5);
}

TEST(ClipGradNorm, ScalesGradientsToTheMaximumNorm) {
  Tensor a = zeros({1}, dtype(kFloat64).requires_grad(true)), b = zeros({1}, dtype(kFloat64).requires_grad(true));
  (a * 3 + b * 4).sum().backward();
  EXPECT_NEAR(optim::clip_grad_norm_({a, b}, 1.0), 5.0, 1e-12);
  EXPECT_NEAR(a.grad().item<double>(), 3 / (5 + 1e-6), 1e-12);
  EXPECT_NEAR(b.grad().item<double>(), 4 / (5 + 1e-6), 1e-12);
  EXPECT_NEAR(optim::clip_grad_norm_({a, b}, 10.0), 1.0, 1e-6);  // under the maximum: unchanged
  EXPECT_NEAR(a.grad().item<double>(), 3 / (5 + 1e-6), 1e-12);
  EXPECT_NEAR(optim::clip_grad_norm_({a, b}, 10.0, std::numeric_limits<double>::infinity()), 4 / (5 + 1e-6), 1e-12);
}

// Kernels launched by one steady training step of a small MLP with optimizer `make`.
template <typename MakeOptimizer>
int64_t kernels_per_step(MakeOptimizer make) {
  manual_seed(3);
  nn::Sequential model(nn::Linear(8, 16), nn::ReLU(), nn::Linear(16, 3));
  auto opt = make(model->parameters());
  Tensor x = randn({32, 8}).eval();
  Tensor y = randint(0, 3, {32}).eval();
  int64_t launched = 0;
  for (int step = 0; step < 4; ++step) {
    int64_t before = stats().kernels_launched;
    opt.zero_grad();
    Tensor loss = nn::functional::cross_entropy(model(x), y);
    loss.backward();
    opt.step();
    loss.item<double>();
    launched = stats().kernels_launched - before;
  }
  return launched;
}

TEST(Optimizer, StateAndParameterAreUpdatedByOneKernel) {
  int64_t plain = kernels_per_step([](std::vector<Tensor> ps) { return optim::SGD(ps, optim::SGDOptions(0.1)); });
  int64_t momentum = kernels_per_step(
      [](std::vector<Tensor> ps) { return optim::SGD(ps, optim::SGDOptions(0.1).momentum(0.9)); });
  int64_t adam = kernels_per_step([](std::vector<Tensor> ps) { return optim::Adam(ps, optim::AdamOptions(0.01)); });
  int64_t rmsprop = kernels_per_step([](std::vector<Tensor> ps) {
    return optim::RMSprop(ps, optim::RMSpropOptions(0.01).centered(true).momentum(0.5));
  });
  // One kernel per parameter in each case: the momentum buffer, Adam's two averages, or
  // RMSprop's three buffers are extra outputs of the kernel that updates the parameter (before:
  // 15, 19, 23 and 27 kernels).
  EXPECT_EQ(plain, 14);
  EXPECT_EQ(momentum, plain);
  EXPECT_EQ(adam, plain);
  EXPECT_EQ(rmsprop, plain);
}

}  // namespace
}  // namespace kiln
