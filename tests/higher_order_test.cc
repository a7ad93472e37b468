// Second-order gradients: grad of grad (create_graph=true) against float64 finite differences of
// the first gradient (autograd::gradgradcheck), and Hessian-vector products by hand.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using autograd::gradgradcheck;
using autograd::tensor_list;
using testing::expect_tensor;
using testing::random_leaf;

class GradGrad : public ::testing::TestWithParam<testing::GradCase> {};

TEST_P(GradGrad, MatchesFiniteDifferencesOfTheFirstGradient) {
  const testing::GradCase& c = GetParam();
  manual_seed(5);
  tensor_list inputs;
  for (const Shape& s : c.shapes) inputs.push_back(random_leaf(s, c.positive));
  EXPECT_TRUE(gradgradcheck([&](const tensor_list& x) { return tensor_list{c.fn(x)}; }, inputs));
}

INSTANTIATE_TEST_SUITE_P(
    Ops, GradGrad,
    ::testing::
        Values(
            testing::GradCase{"tanh", {{2, 3}}, [](const tensor_list& x) { return x[0].tanh(); }},
            testing::GradCase{"sigmoid", {{2, 3}}, [](const tensor_list& x) { return x[0].sigmoid(); }},
            testing::GradCase{"exp", {{4}}, [](const tensor_list& x) { return x[0].exp(); }},
            testing::GradCase{"log", {{4}}, [](const tensor_list& x) { return x[0].log(); }, true},
            testing::GradCase{"mul", {{2, 3}, {3}}, [](const tensor_list& x) { return x[0] * x[1]; }},
            testing::GradCase{"matmul", {{2, 3}, {3, 2}}, [](const tensor_list& x) { return x[0].matmul(x[1]); }},
            testing::GradCase{"softmax", {{2, 4}}, [](const tensor_list& x) { return softmax(x[0], 1); }},
            testing::GradCase{"div", {{3}, {3}}, [](const tensor_list& x) { return x[0] / x[1]; }, true},
            testing::GradCase{"pow", {{3}, {3}}, [](const tensor_list& x) { return x[0].pow(x[1]); }, true},
            testing::GradCase{"sqrt", {{3}}, [](const tensor_list& x) { return x[0].sqrt(); }, true},
            testing::GradCase{
                "erf_sin_cos", {{3}}, [](const tensor_list& x) { return x[0].erf() * x[0].sin() + x[0].cos(); }},
            testing::GradCase{
                "slice_and_cat",
                {{5, 2}},
                [](const tensor_list& x) {
                  return cat({x[0].slice(0, 0, 5, 2), x[0].slice(0, 1, 3)}, 0).square();
                }},
            testing::GradCase{"max_and_sum",
                              {{3, 4}},
                              [](const tensor_list& x) { return std::get<0>(x[0].square().max(1)) * x[0].sum({1}); }},
            testing::GradCase{"log_softmax", {{2, 3}}, [](const tensor_list& x) { return log_softmax(x[0], 1); }}),
    testing::grad_case_name);

TEST(HigherOrder, ThirdDerivativeOfACubic) {
  Tensor x = tensor({2.0}, dtype(kFloat64).requires_grad(true));
  Tensor y = x.pow(3).sum();
  Tensor d1 = autograd::grad({y}, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
  Tensor d2 = autograd::grad({d1.sum()}, {x}, {}, std::nullopt, true)[0];
  Tensor d3 = autograd::grad({d2.sum()}, {x})[0];
  expect_tensor<double>(d1, {1}, {12});  // 3x^2
  expect_tensor<double>(d2, {1}, {12});  // 6x
  expect_tensor<double>(d3, {1}, {6});
  EXPECT_TRUE(d1.requires_grad());
  EXPECT_FALSE(d3.requires_grad());
}

TEST(HigherOrder, HessianVectorProduct) {
  // f(x) = sum(x^2 * w) + x0 x1: H = diag(2w) + [[0,1],[1,0]].
  Tensor x = tensor({1.0, 2.0}, dtype(kFloat64).requires_grad(true));
  Tensor w = tensor({3.0, -1.0}, dtype(kFloat64));
  Tensor f = (x * x * w).sum() + x[0] * x[1];
  Tensor g = autograd::grad({f}, {x}, {}, std::nullopt, true)[0];
  Tensor v = tensor({1.0, 1.0}, dtype(kFloat64));
  Tensor hv = autograd::grad({g}, {x}, {v})[0];
  expect_tensor<double>(hv, {2}, {6 + 1, -2 + 1});
}

TEST(HigherOrder, BackwardWithCreateGraphAccumulatesADifferentiableGrad) {
  Tensor x = tensor({0.5, -1.0}, dtype(kFloat64).requires_grad(true));
  x.tanh().sum().backward({}, std::nullopt, /*create_graph=*/true);
  ASSERT_TRUE(x.grad().requires_grad());
  // d/dx sum(1 - tanh^2) = -2 tanh (1 - tanh^2)
  Tensor g2 = autograd::grad({x.grad().sum()}, {x})[0];
  for (int i = 0; i < 2; ++i) {
    double t = std::tanh(i == 0 ? 0.5 : -1.0);
    EXPECT_NEAR(g2.to_vector<double>()[i], -2 * t * (1 - t * t), 1e-12);
  }
}

}  // namespace
}  // namespace kiln
