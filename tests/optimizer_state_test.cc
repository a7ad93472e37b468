// State that nothing reads until the next step: momentum SGD and Adam written by hand, exactly as
// a LibTorch user writes them (in-place updates under NoGradGuard, no eval call anywhere). The
// velocity and moment tensors are read by no evaluation of their own, so without help their
// pending chains would grow by one step per iteration; Kiln evaluates state changed in place
// with the next evaluation, so the loop runs with flat live nodes and bytes and compiles nothing
// after its second step (live memory is constant from the third step on). The losses are checked against the same loop with explicit eval calls.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kiln/kiln.h"

namespace kiln {
namespace {

constexpr int kSteps = 1000;

// A two-layer perceptron on a fixed regression batch.
struct Problem {
  Tensor x, y;
  std::vector<Tensor> params;

  Problem() {
    manual_seed(3);
    x = randn({32, 8}).eval();
    y = (x.sum({1}, true) * 0.5).tanh().eval();
    for (Shape s : {Shape{8, 16}, Shape{16}, Shape{16, 1}, Shape{1}}) {
      Tensor p = randn(s) * 0.3;
      params.push_back(p.set_requires_grad(true));
    }
  }
  Tensor loss() const {
    Tensor h = relu(x.matmul(params[0]) + params[1]);
    return (h.matmul(params[2]) + params[3] - y).pow(2).mean();
  }
};

struct Trace {
  std::vector<double> losses;  // every 100th step
  Stats after_two, end;
  int64_t most_nodes = 0, least_nodes = INT64_MAX, most_bytes = 0, least_bytes = INT64_MAX;  // steps 3 on
};

// `update(i, p, g)` applies one parameter's step under NoGradGuard.
template <typename Update>
Trace train(Problem& m, Update update, bool eval_state) {
  Trace t;
  for (int step = 0; step < kSteps; ++step) {
    Tensor loss = m.loss();
    loss.backward();
    if (step % 100 == 0) t.losses.push_back(loss.item<double>());
    {
      NoGradGuard no_grad;
      for (size_t i = 0; i < m.params.size(); ++i) {
        update(step, i, m.params[i], m.params[i].grad(), eval_state);
        m.params[i].grad().zero_();
      }
    }
    if (step == 1) t.after_two = stats();
    if (step >= 2) {  // the first two steps allocate the state and the gradients
      Stats s = stats();
      t.most_nodes = std::max(t.most_nodes, s.live_nodes), t.least_nodes = std::min(t.least_nodes, s.live_nodes);
      t.most_bytes = std::max(t.most_bytes, s.live_bytes), t.least_bytes = std::min(t.least_bytes, s.live_bytes);
    }
  }
  t.end = stats();
  return t;
}

void expect_flat(const Trace& t) {
  EXPECT_EQ(t.end.kernels_compiled, t.after_two.kernels_compiled);
  EXPECT_EQ(t.end.schedules_built, t.after_two.schedules_built);
  EXPECT_EQ(t.most_nodes, t.least_nodes);
  EXPECT_EQ(t.most_bytes, t.least_bytes);
  EXPECT_LT(t.most_nodes, 2 * t.after_two.live_nodes);
}

TEST(OptimizerState, HandWrittenMomentumSgdStaysFlat) {
  auto run = [](bool eval_state) {
    Problem m;
    std::vector<Tensor> velocity;
    for (const Tensor& p : m.params) velocity.push_back(zeros_like(p));
    Trace t = train(
        m,
        [&](int, size_t i, Tensor& p, const Tensor& g, bool eval_velocity) {
          velocity[i].mul_(0.9).add_(g);
          p.sub_(velocity[i] * 0.05);
          if (eval_velocity) velocity[i].eval();
        },
        eval_state);
    return t;
  };
  Trace lazy = run(false), explicit_eval = run(true);
  expect_flat(lazy);
  ASSERT_EQ(lazy.losses.size(), explicit_eval.losses.size());
  for (size_t i = 0; i < lazy.losses.size(); ++i) EXPECT_NEAR(lazy.losses[i], explicit_eval.losses[i], 1e-6);
  EXPECT_LT(lazy.losses.back(), 0.2 * lazy.losses.front());  // it trains
}

TEST(OptimizerState, HandWrittenAdamStaysFlat) {
  auto run = [](bool eval_state) {
    Problem m;
    std::vector<Tensor> m1, m2;
    for (const Tensor& p : m.params) m1.push_back(zeros_like(p)), m2.push_back(zeros_like(p));
    const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-8;
    return train(
        m,
        [&](int step, size_t i, Tensor& p, const Tensor& g, bool eval_moments) {
          m1[i].mul_(b1).add_(g, 1 - b1);
          m2[i].mul_(b2).add_(g * g, 1 - b2);
          double c1 = 1 - std::pow(b1, step + 1), c2 = 1 - std::pow(b2, step + 1);  // a new scalar every step
          p.sub_((m1[i] / c1) / ((m2[i] / c2).sqrt() + eps) * lr);
          if (eval_moments) eval({m1[i], m2[i]});
        },
        eval_state);
  };
  Trace lazy = run(false), explicit_eval = run(true);
  expect_flat(lazy);
  for (size_t i = 0; i < lazy.losses.size(); ++i) EXPECT_NEAR(lazy.losses[i], explicit_eval.losses[i], 1e-6);
  EXPECT_LT(lazy.losses.back(), 0.2 * lazy.losses.front());
}

}  // namespace
}  // namespace kiln
