// autograd::Function: user-written backward rules, as LibTorch's custom functions. The test
// checks the user's backward is the one used, that forward and backward fuse with their
// neighbours, saved tensors and data, several outputs, double backward and the errors.
#include <gtest/gtest.h>

#include <cmath>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using autograd::AutogradContext;
using autograd::tensor_list;
using testing::expect_tensor;

int g_softplus_backward_calls = 0;

// softplus(x) = max(x, 0) + log(1 + exp(-|x|)), which never overflows; its derivative is
// sigmoid(x), written by hand.
struct Softplus : autograd::Function<Softplus> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    ctx->save_for_backward({x});
    return x.relu() + (1 + (-x.abs()).exp()).log();
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    ++g_softplus_backward_calls;
    Tensor x = ctx->get_saved_variables()[0];
    return {grad_outputs[0] * x.sigmoid()};
  }
};

double sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

TEST(CustomFunction, UsesTheHandWrittenBackward) {
  Tensor x = tensor({-50.0, -1.0, 0.5, 80.0}, dtype(kFloat64).requires_grad(true));
  Tensor y = Softplus::apply(x);
  EXPECT_TRUE(y.requires_grad());
  EXPECT_FALSE(y.is_leaf());
  int before = g_softplus_backward_calls;
  y.sum().backward();
  EXPECT_EQ(g_softplus_backward_calls, before + 1);
  expect_tensor<double>(
      y, {4}, {std::log1p(std::exp(-50.0)), std::log1p(std::exp(-1.0)), 0.5 + std::log1p(std::exp(-0.5)), 80.0}, 1e-12);
  expect_tensor<double>(x.grad(), {4}, {sigmoid(-50), sigmoid(-1), sigmoid(0.5), sigmoid(80)}, 1e-12);
}

TEST(CustomFunction, FusesWithItsNeighbours) {
  Tensor x = randn({256, 64}).requires_grad_();
  x.eval();
  auto step = [&] {
    x.mutable_grad() = Tensor();
    Tensor loss = (Softplus::apply(x * 2) * 3).sum();
    Stats before = stats();
    loss.backward();
    return std::pair{stats().kernels_launched - before.kernels_launched,
                     stats().graphs_evaluated - before.graphs_evaluated};
  };
  step();
  auto [kernels, graphs] = step();
  // One graph: the loss (x*2 -> softplus -> *3 -> sum) is one kernel, the gradient
  // (3 * sigmoid(2x) * 2, from the user's backward) another.
  EXPECT_EQ(graphs, 1);
  EXPECT_EQ(kernels, 2);
  std::vector<float> xs = x.to_vector<float>(), g = x.grad().to_vector<float>();
  for (size_t i = 0; i < xs.size(); i += 97) EXPECT_NEAR(g[i], 6 * sigmoid(2 * xs[i]), 1e-5);
}

// Two outputs, saved data and a non-tensor argument.
struct ScaledSinCos : autograd::Function<ScaledSinCos> {
  static tensor_list forward(AutogradContext* ctx, const Tensor& x, double scale) {
    ctx->saved_data["scale"] = scale;
    ctx->save_for_backward({x});
    return {x.sin() * scale, x.cos() * scale};
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list g) {
    double scale = ctx->saved_data["scale"].toDouble();
    Tensor x = ctx->get_saved_variables()[0];
    EXPECT_TRUE(ctx->needs_input_grad(0));
    EXPECT_FALSE(ctx->needs_input_grad(1));
    return {(g[0] * x.cos() - g[1] * x.sin()) * scale, Tensor()};
  }
};

TEST(CustomFunction, SeveralOutputsAndSavedData) {
  Tensor x = tensor({0.3, 1.2}, dtype(kFloat64).requires_grad(true));
  tensor_list out = ScaledSinCos::apply(x, 2.0);
  ASSERT_EQ(out.size(), 2u);
  (out[0] * 3 + out[1]).sum().backward();
  for (int i = 0; i < 2; ++i) {
    double v = i == 0 ? 0.3 : 1.2;
    EXPECT_NEAR(x.grad().to_vector<double>()[i], 2 * (3 * std::cos(v) - std::sin(v)), 1e-12);
  }
  // Only one output used: the other's gradient arrives as zeros.
  Tensor z = tensor({0.7}, dtype(kFloat64).requires_grad(true));
  ScaledSinCos::apply(z, 1.0)[1].sum().backward();
  expect_tensor<double>(z.grad(), {1}, {-std::sin(0.7)}, 1e-12);
}

// A backward written with differentiable ops on a saved output supports double backward.
struct Exp : autograd::Function<Exp> {
  static Tensor forward(AutogradContext* ctx, const Tensor& x) {
    Tensor y = x.exp();
    ctx->save_for_backward({y});
    return y;
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list g) { return {g[0] * ctx->get_saved_variables()[0]}; }
};

TEST(CustomFunction, DoubleBackwardThroughASavedOutput) {
  Tensor x = tensor({0.5, -0.25}, dtype(kFloat64).requires_grad(true));
  EXPECT_TRUE(autograd::gradcheck([](const tensor_list& in) { return tensor_list{Exp::apply(in[0])}; },
                                  {x.detach().clone().requires_grad_()}));
  Tensor d1 = autograd::grad({Exp::apply(x).sum()}, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
  Tensor d2 = autograd::grad({d1.sum()}, {x})[0];
  expect_tensor<double>(d2, {2}, {std::exp(0.5), std::exp(-0.25)}, 1e-12);
}

TEST(CustomFunction, WithoutGradItIsAPlainForward) {
  Tensor x = tensor({1.0}, dtype(kFloat64));
  Tensor y = Softplus::apply(x);
  EXPECT_FALSE(y.requires_grad());
  expect_tensor<double>(y, {1}, {1 + std::log1p(std::exp(-1.0))}, 1e-12);
}

// Sorts two values and returns which came first: the permutation is not differentiable, and the
// backward sees undefined gradients for unused outputs when it asks not to materialize them.
struct SortTwo : autograd::Function<SortTwo> {
  static tensor_list forward(AutogradContext* ctx, const Tensor& x) {
    Tensor swapped = x[0] > x[1];
    Tensor order = where(swapped, tensor({1.0, 0.0}, dtype(kFloat64)), tensor({0.0, 1.0}, dtype(kFloat64)));
    Tensor sorted = where(swapped, stack({x[1], x[0]}), x);
    ctx->save_for_backward({swapped});
    ctx->mark_non_differentiable({order});
    ctx->set_materialize_grads(false);
    return {sorted, order};
  }
  static tensor_list backward(AutogradContext* ctx, tensor_list g) {
    EXPECT_FALSE(g[1].defined());  // order got no gradient and is not materialized
    Tensor swapped = ctx->get_saved_variables()[0];
    return {where(swapped, stack({g[0][1], g[0][0]}), g[0])};
  }
};

TEST(CustomFunction, NonDifferentiableOutputsAndUnmaterializedGrads) {
  Tensor x = tensor({3.0, 1.0}, dtype(kFloat64).requires_grad(true));
  tensor_list out = SortTwo::apply(x);
  EXPECT_TRUE(out[0].requires_grad());
  EXPECT_FALSE(out[1].requires_grad());
  expect_tensor<double>(out[0], {2}, {1, 3});
  expect_tensor<double>(out[1], {2}, {1, 0});
  (out[0] * tensor({10.0, 1.0}, dtype(kFloat64))).sum().backward();
  expect_tensor<double>(x.grad(), {2}, {1, 10});  // x[1] went first
}

struct TooFewGrads : autograd::Function<TooFewGrads> {
  static Tensor forward(AutogradContext*, const Tensor& a, const Tensor& b) { return a * b; }
  static tensor_list backward(AutogradContext*, tensor_list g) { return {g[0]}; }
};
struct WrongShape : autograd::Function<WrongShape> {
  static Tensor forward(AutogradContext*, const Tensor& a) { return a * 2; }
  static tensor_list backward(AutogradContext*, tensor_list g) { return {g[0].sum()}; }
};

TEST(CustomFunction, Errors) {
  Tensor a = tensor({1.0, 2.0}, dtype(kFloat64).requires_grad(true));
  try {
    TooFewGrads::apply(a, a).sum().backward();
    ADD_FAILURE() << "expected kiln::Error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("TooFewGrads"), std::string::npos) << msg;
    EXPECT_NE(msg.find("expected 2, got 1"), std::string::npos) << msg;
  }
  try {
    WrongShape::apply(a).sum().backward();
    ADD_FAILURE() << "expected kiln::Error";
  } catch (const Error& e) {
    std::string msg = e.what();
    EXPECT_NE(msg.find("invalid gradient at index 0"), std::string::npos) << msg;
    EXPECT_NE(msg.find("[2]"), std::string::npos) << msg;
  }
  EXPECT_FALSE(a.grad().defined());  // nothing was accumulated
}

}  // namespace
}  // namespace kiln
