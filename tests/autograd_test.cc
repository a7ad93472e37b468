// Autograd's user-facing semantics, as LibTorch's: leaves, accumulation, retain_graph,
// NoGradGuard, detach, non-leaf .grad(), in-place rules and errors. Values are hand-computed.
#include <gtest/gtest.h>

#include <functional>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using testing::expect_tensor;
using testing::make;

Tensor leaf(const std::vector<double>& values) { return tensor(values, dtype(kFloat64).requires_grad(true)); }

TEST(Autograd, LeavesAndRequiresGrad) {
  Tensor x = leaf({1, 2, 3});
  Tensor c = tensor({1.0, 1.0, 1.0}, dtype(kFloat64));
  EXPECT_TRUE(x.requires_grad());
  EXPECT_TRUE(x.is_leaf());
  EXPECT_FALSE(c.requires_grad());
  EXPECT_TRUE(c.is_leaf());
  Tensor y = x * c;
  EXPECT_TRUE(y.requires_grad());
  EXPECT_FALSE(y.is_leaf());
  EXPECT_FALSE((c * 2).requires_grad());
  EXPECT_FALSE((x > 1.0).requires_grad());  // comparisons and indices are not differentiable
  EXPECT_FALSE(x.argmax().requires_grad());
  EXPECT_FALSE(x.to(kInt64).requires_grad());
  EXPECT_TRUE(x.to(kFloat32).requires_grad());
  EXPECT_TRUE(x.view({3, 1}).requires_grad());
  EXPECT_FALSE(x.view({3, 1}).is_leaf());  // a view of a leaf is computed from it
  EXPECT_FALSE(x.clone().is_leaf());
  c.requires_grad_();
  EXPECT_TRUE(c.requires_grad() && c.is_leaf());
  c.requires_grad_(false);
  EXPECT_FALSE(c.requires_grad());
}

TEST(Autograd, BackwardAccumulatesIntoLeaves) {
  Tensor x = leaf({1, 2, 3});
  Tensor w = leaf({0.5, -1, 2});
  Tensor loss = (x * w).sum() + (x * x).sum();
  loss.backward();
  // d/dx = w + 2x, d/dw = x.
  expect_tensor<double>(x.grad(), {3}, {2.5, 3, 8});
  expect_tensor<double>(w.grad(), {3}, {1, 2, 3});
  EXPECT_FALSE(x.grad().requires_grad());
  EXPECT_DOUBLE_EQ(loss.item<double>(), 0.5 - 2 + 6 + 14);
  // Repeated backward accumulates, as in PyTorch.
  (x * w).sum().backward();
  expect_tensor<double>(x.grad(), {3}, {3, 2, 10});
  expect_tensor<double>(w.grad(), {3}, {2, 4, 6});
  x.grad().zero_();
  (x * 3).sum().backward();
  expect_tensor<double>(x.grad(), {3}, {3, 3, 3});
  x.mutable_grad() = Tensor();  // as zero_grad(set_to_none=true)
  (x * 2).sum().backward();
  expect_tensor<double>(x.grad(), {3}, {2, 2, 2});
}

TEST(Autograd, BackwardEvaluatesForwardAndBackwardAsOneGraph) {
  Tensor x = leaf({1, 2, 3});
  Tensor loss = (x.exp() * x).sum();
  int64_t before = stats().graphs_evaluated;
  loss.backward();
  EXPECT_EQ(stats().graphs_evaluated, before + 1);
  // d/dx x e^x = e^x (1 + x); the loss came out of the same evaluation.
  expect_tensor<double>(x.grad(), {3}, {2 * std::exp(1.0), 3 * std::exp(2.0), 4 * std::exp(3.0)}, 1e-12);
  EXPECT_NEAR(loss.item<double>(), std::exp(1.0) + 2 * std::exp(2.0) + 3 * std::exp(3.0), 1e-12);
  EXPECT_EQ(stats().graphs_evaluated, before + 1);
}

TEST(Autograd, BackwardAfterTheLossWasEvaluated) {
  Tensor x = leaf({1, 2});
  Tensor y = x.tanh();
  Tensor loss = (y * y).sum();
  EXPECT_NEAR(loss.item<double>(), std::pow(std::tanh(1.0), 2) + std::pow(std::tanh(2.0), 2), 1e-12);
  loss.backward();  // the evaluated loss still knows how it was computed
  for (int i = 0; i < 2; ++i) {
    double t = std::tanh(i + 1.0);
    EXPECT_NEAR(x.grad().to_vector<double>()[i], 2 * t * (1 - t * t), 1e-12);
  }
}

TEST(Autograd, NonScalarBackwardTakesAGradient) {
  Tensor x = leaf({1, 2, 3});
  Tensor y = x * x;
  y.backward(tensor({1.0, 0.5, -1.0}, dtype(kFloat64)));
  expect_tensor<double>(x.grad(), {3}, {2, 2, -6});
}

TEST(Autograd, RetainGraph) {
  Tensor x = leaf({1, 2});
  Tensor y = (x.exp()).sum();
  y.backward({}, /*retain_graph=*/true);
  y.backward();
  expect_tensor<double>(x.grad(), {2}, {2 * std::exp(1.0), 2 * std::exp(2.0)}, 1e-12);
  EXPECT_KILN_ERROR(y.backward(), "backward", "second time", "retain_graph");
  expect_tensor<double>(x.grad(), {2}, {2 * std::exp(1.0), 2 * std::exp(2.0)}, 1e-12);  // unchanged
}

TEST(Autograd, NoGradGuardAndDetach) {
  Tensor x = leaf({1, 2});
  {
    NoGradGuard no_grad;
    EXPECT_FALSE(is_grad_enabled());
    Tensor y = x * 2;
    EXPECT_FALSE(y.requires_grad());
    EXPECT_TRUE(y.is_leaf());
    x.mul_(3);  // allowed on a leaf under no_grad, as an optimizer step
  }
  EXPECT_TRUE(is_grad_enabled());
  EXPECT_TRUE(x.requires_grad() && x.is_leaf());
  expect_tensor<double>(x, {2}, {3, 6});
  Tensor d = x.detach();
  EXPECT_FALSE(d.requires_grad());
  Tensor loss = (x * d).sum();  // d is a constant: d/dx = d
  loss.backward();
  expect_tensor<double>(x.grad(), {2}, {3, 6});
  {
    AutoGradMode enable(false);
    EXPECT_FALSE((x * 2).requires_grad());
  }
  // detach shares memory with its source, as in PyTorch.
  {
    NoGradGuard no_grad;
    x.add_(1);
  }
  expect_tensor<double>(d, {2}, {4, 7});
}

TEST(Autograd, DetachedViewsWriteTheirBaseUntracked) {
  // As PyTorch's x.detach().mul_(2) or x.data: the leaf's value changes, and it stays a leaf that
  // requires grad.
  Tensor x = leaf({1, 2});
  x.detach().mul_(2);
  EXPECT_TRUE(x.requires_grad() && x.is_leaf());
  expect_tensor<double>(x, {2}, {2, 4});
  (x * x).sum().backward();
  expect_tensor<double>(x.grad(), {2}, {4, 8});
}

TEST(Autograd, DataPtrKeepsAComputedTensorDifferentiable) {
  Tensor x = leaf({1, 2});
  Tensor y = x * 3;
  Tensor pending = y + 1;  // a graph that still reads y's buffer once y is evaluated
  double* p = y.data_ptr<double>();  // copy on write: y gets a private buffer
  EXPECT_EQ(p[1], 6.0);
  EXPECT_TRUE(y.requires_grad());
  (y * y).sum().backward();
  expect_tensor<double>(x.grad(), {2}, {18, 36});  // d/dx 9x^2
  expect_tensor<double>(pending, {2}, {4, 7});
}

TEST(Autograd, GradModeAndSetRequiresGrad) {
  EXPECT_TRUE(GradMode::is_enabled());
  GradMode::set_enabled(false);
  Tensor x = leaf({1});
  EXPECT_FALSE((x * 2).requires_grad());
  GradMode::set_enabled(true);
  EXPECT_TRUE((x * 2).requires_grad());
  Tensor c = tensor({1.0}, dtype(kFloat64));
  c.set_requires_grad(true);
  EXPECT_TRUE(c.requires_grad());
}

TEST(Autograd, NonLeafGradIsUndefinedUnlessRetained) {
  Tensor x = leaf({1, 2});
  Tensor h = x * 3;
  Tensor r = x * 2;
  r.retain_grad();
  EXPECT_TRUE(r.retains_grad());
  EXPECT_FALSE(h.retains_grad());
  Tensor loss = (h * r).sum();
  loss.backward();
  EXPECT_FALSE(h.grad().defined());
  expect_tensor<double>(r.grad(), {2}, {3, 6});    // d/dr = h
  expect_tensor<double>(x.grad(), {2}, {12, 24});  // d/dx 6x^2 = 12x
}

TEST(Autograd, GradFunctionDoesNotTouchDotGrad) {
  Tensor x = leaf({1, 2});
  Tensor w = leaf({3, 4});
  Tensor y = (x * x * w).sum();
  auto g = autograd::grad({y}, {x, w});
  ASSERT_EQ(g.size(), 2u);
  expect_tensor<double>(g[0], {2}, {6, 16});
  expect_tensor<double>(g[1], {2}, {1, 4});
  EXPECT_FALSE(x.grad().defined());
  EXPECT_FALSE(g[0].requires_grad());
}

TEST(Autograd, GradWithRespectToANonLeaf) {
  Tensor x = leaf({1, 2});
  Tensor h = x * x;
  Tensor y = (h * 3).sum();
  expect_tensor<double>(autograd::grad({y}, {h})[0], {2}, {3, 3});
}

TEST(Autograd, AllowUnused) {
  Tensor x = leaf({1, 2});
  Tensor unused = leaf({5});
  Tensor y = (x * 2).sum();
  EXPECT_KILN_ERROR(autograd::grad({y}, {x, unused}, {}, true), "grad", "input 1", "allow_unused");
  auto g = autograd::grad({y}, {x, unused}, {}, std::nullopt, false, /*allow_unused=*/true);
  expect_tensor<double>(g[0], {2}, {2, 2});
  EXPECT_FALSE(g[1].defined());
}

TEST(Autograd, SeveralOutputsAtOnce) {
  Tensor x = leaf({1, 2});
  Tensor a = x * 2, b = x * x;
  autograd::backward({a, b}, {tensor({1.0, 1.0}, dtype(kFloat64)), tensor({1.0, -1.0}, dtype(kFloat64))});
  expect_tensor<double>(x.grad(), {2}, {4, -2});
}

TEST(Autograd, GradientsReduceOverBroadcastAxes) {
  Tensor x = tensor({1.0, 2.0, 3.0, 4.0, 5.0, 6.0}, dtype(kFloat64)).reshape({2, 3});
  Tensor b = leaf({1, 2, 3});
  Tensor s = leaf({2});
  ((x + b) * s).sum().backward();
  expect_tensor<double>(b.grad(), {3}, {4, 4, 4});
  expect_tensor<double>(s.grad(), {1}, {21 + 12});
}

TEST(Autograd, InPlaceOnANonLeafIsDifferentiated) {
  Tensor x = leaf({1, 2, 3});
  Tensor y = x * 2;
  y.mul_(x);                 // y = 2 x^2
  y.slice(0, 0, 1).zero_();  // y[0] = 0, through a view
  y.sum().backward();
  expect_tensor<double>(x.grad(), {3}, {0, 8, 12});
}

TEST(Autograd, Errors) {
  Tensor x = leaf({1, 2});
  Tensor c = tensor({1.0, 2.0}, dtype(kFloat64));
  EXPECT_KILN_ERROR(c.sum().backward(), "backward", "does not require grad");
  EXPECT_KILN_ERROR((x * 2).backward(), "backward", "scalar outputs", "[2]");
  EXPECT_KILN_ERROR((x * 2).backward(tensor({1.0, 2.0, 3.0}, dtype(kFloat64))), "backward", "[3]", "[2]");
  EXPECT_KILN_ERROR(x.add_(1), "add_", "leaf");
  EXPECT_KILN_ERROR(x.view({2}).mul_(2), "mul_", "view of a leaf");
  EXPECT_KILN_ERROR((x * 2).requires_grad_(false), "requires_grad_", "leaf");
  Tensor i = tensor({1, 2});
  EXPECT_KILN_ERROR(autograd::grad({(x * 2).sum()}, {i}), "grad", "does not require grad", "int64");
  EXPECT_KILN_ERROR(c.retain_grad(), "retain_grad", "requires_grad=false");
  // Failed calls changed nothing.
  expect_tensor<double>(x, {2}, {1, 2});
  EXPECT_FALSE(x.grad().defined());
}

// Where a function has no derivative, the subgradient PyTorch uses.
TEST(Autograd, SubgradientsAtKinksFollowPyTorch) {
  auto grad_of = [](const std::function<Tensor(const Tensor&)>& f, std::vector<double> at) {
    Tensor x = tensor(at, dtype(kFloat64).requires_grad(true));
    f(x).sum().backward();
    return x.grad();
  };
  expect_tensor<double>(grad_of([](const Tensor& x) { return x.relu(); }, {-1, 0, 2}), {3}, {0, 0, 1});
  expect_tensor<double>(grad_of([](const Tensor& x) { return x.abs(); }, {-1, 0, 2}), {3}, {-1, 0, 1});
  // clamp passes the gradient at its bounds.
  expect_tensor<double>(grad_of([](const Tensor& x) { return x.clamp(-1, 1); }, {-2, -1, 0, 1, 2}), {5},
                        {0, 1, 1, 1, 0});
  // maximum/minimum split a tie; max() shares it between tied maxima.
  expect_tensor<double>(grad_of(
                            [](const Tensor& x) {
                              return maximum(x, tensor({1.0, 1.0}, dtype(kFloat64)));
                            },
                            {1, 2}),
                        {2}, {0.5, 1});
  expect_tensor<double>(grad_of([](const Tensor& x) { return x.max(); }, {3, 1, 3}), {3}, {0.5, 0, 0.5});
  // max(dim) and min(dim) send it all to the index they return, the first of tied extremes.
  expect_tensor<double>(grad_of([](const Tensor& x) { return std::get<0>(x.max(0)); }, {3, 1, 3}), {3}, {1, 0, 0});
  expect_tensor<double>(grad_of(
                            [](const Tensor& x) {
                              return std::get<0>(x.view({2, 2}).min(1, true));
                            },
                            {1, 1, 5, 2}),
                        {4}, {1, 0, 0, 1});
  expect_tensor<double>(grad_of([](const Tensor& x) { return x.pow(2.0); }, {0, 3}), {2}, {0, 6});
}

TEST(Autograd, IntegerPathsCarryNoGradient) {
  Tensor x = leaf({1.5, 2.5});
  Tensor through_int = x.to(kInt64).to(kFloat64);
  EXPECT_FALSE(through_int.requires_grad());
  Tensor y = (x * through_int).sum();  // the int path is a constant: d/dx = trunc(x)
  y.backward();
  expect_tensor<double>(x.grad(), {2}, {1, 2});
}

TEST(Autograd, TrainingLoopFreesItsGraphs) {
  Tensor w = leaf({0.5, -0.5});
  Tensor x = tensor({1.0, 2.0}, dtype(kFloat64));
  int64_t live = 0;
  for (int step = 0; step < 20; ++step) {
    Tensor loss = ((w * x).sum() - 1).pow(2);
    loss.backward();
    {
      NoGradGuard no_grad;
      w.sub_(w.grad() * 0.1);
      w.mutable_grad().zero_();
    }
    w.eval();
    if (step == 5) live = stats().live_nodes;
  }
  EXPECT_LE(stats().live_nodes, live);  // no growth across steps
  // w converges to a minimizer of (w.x - 1)^2.
  std::vector<double> v = w.to_vector<double>();
  EXPECT_NEAR(v[0] * 1 + v[1] * 2, 1.0, 1e-6);
}

}  // namespace
}  // namespace kiln
