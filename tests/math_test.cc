// LibTorch's everyday math on Kiln: norms and moments, prod, cumsum, logsumexp, all/any,
// closeness tests, rounding, sign, lerp, clamp with tensor bounds and the small linear-algebra
// helpers. Expected values are hand-computed (LibTorch 1.13 prints the same); gradients are
// checked against float64 finite differences.
#include <gtest/gtest.h>

#include <cmath>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using autograd::gradcheck;
using autograd::tensor_list;
using testing::expect_tensor;
using testing::kInf;
using testing::kNaN;

Tensor f64(std::vector<double> v, Shape shape) { return tensor(v, dtype(kFloat64)).reshape(shape); }

TEST(Norms, PowersAndDims) {
  Tensor x = f64({3, -4, 0, 1, 2, -2}, {2, 3});
  expect_tensor<double>(x.norm(), {}, {std::sqrt(34.0)});
  expect_tensor<double>(x.norm(2, {1}), {2}, {5, 3});
  expect_tensor<double>(x.norm(1, {0}, true), {1, 3}, {4, 6, 2});
  expect_tensor<double>(x.norm(kInf, {1}), {2}, {4, 2});
  expect_tensor<double>(x.norm(0, {1}), {2}, {2, 3});
  expect_tensor<double>(x.norm(3, {1}), {2}, {std::cbrt(91.0), std::cbrt(17.0)}, 1e-12);
  EXPECT_KILN_ERROR(arange(3).norm(), "norm", "int64");
}

TEST(Moments, VarAndStdWithCorrection) {
  Tensor x = f64({1, 2, 3, 4, 10, 20, 30, 40}, {2, 4});
  expect_tensor<double>(x.var({1}), {2}, {5.0 / 3, 500.0 / 3}, 1e-12);
  expect_tensor<double>(x.var({1}, false), {2}, {1.25, 125}, 1e-12);
  expect_tensor<double>(x.var({1}, std::optional<int64_t>(0), true), {2, 1}, {1.25, 125}, 1e-12);
  expect_tensor<double>(x.std({0}), {4}, {std::sqrt(40.5), std::sqrt(162.0), std::sqrt(364.5), std::sqrt(648.0)}, 1e-12);
  expect_tensor<double>(f64({2, 4, 4, 4, 5, 5, 7, 9}, {8}).std(false), {}, {2}, 1e-12);
  EXPECT_TRUE(std::isnan(f64({1}, {1}).var().item<double>()));  // n - 1 = 0, as PyTorch
}

TEST(Prod, ValuesDtypesAndGradientWithZeros) {
  expect_tensor<double>(f64({1, 2, 3, 4}, {2, 2}).prod(), {}, {24});
  expect_tensor<double>(f64({1, 2, 3, 4}, {2, 2}).prod(1, true), {2, 1}, {2, 12});
  Tensor ints = tensor({2, 3, 4}).to(kInt32);
  EXPECT_EQ(ints.prod().dtype(), kInt64);
  EXPECT_EQ(ints.prod().item<int64_t>(), 24);
  EXPECT_EQ(tensor({true, false}).prod().item<int64_t>(), 0);
  // d prod / dx with one zero: the product of the others at the zero, 0 elsewhere.
  Tensor x = f64({2, 0, 3}, {3}).set_requires_grad(true);
  x.prod().backward();
  expect_tensor<double>(x.grad(), {3}, {0, 6, 0});
  Tensor y = f64({0, 0, 3}, {3}).set_requires_grad(true);
  y.prod().backward();
  expect_tensor<double>(y.grad(), {3}, {0, 0, 0});
}

TEST(Cumsum, AlongEachDimAndPromotesIntegers) {
  Tensor x = f64({1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, {2, 5});
  expect_tensor<double>(x.cumsum(1), {2, 5}, {1, 3, 6, 10, 15, 6, 13, 21, 30, 40});
  expect_tensor<double>(x.cumsum(0), {2, 5}, {1, 2, 3, 4, 5, 7, 9, 11, 13, 15});
  Tensor i = arange(1, 8).to(kInt32).cumsum(0);
  EXPECT_EQ(i.dtype(), kInt64);
  expect_tensor<int64_t>(i, {7}, {1, 3, 6, 10, 15, 21, 28});
}

TEST(Logsumexp, StableAndInfinite) {
  Tensor x = f64({1000, 1000, -kInf, -kInf, 0, std::log(3.0)}, {3, 2});
  expect_tensor<double>(x.logsumexp({1}), {3}, {1000 + std::log(2.0), -kInf, std::log(4.0)}, 1e-12);
  expect_tensor<double>(x.logsumexp({1}, true), {3, 1}, {1000 + std::log(2.0), -kInf, std::log(4.0)}, 1e-12);
}

TEST(Logical, AllAnyAndOperators) {
  Tensor b = tensor({true, false, true, true}).reshape({2, 2});
  EXPECT_FALSE(b.all().item<bool>());
  EXPECT_TRUE(b.any().item<bool>());
  expect_tensor<bool>(b.all(1), {2}, {false, true});
  expect_tensor<bool>(b.any(0, true), {1, 2}, {true, true});
  expect_tensor<bool>(b & ~b, {2, 2}, {false, false, false, false});
  expect_tensor<bool>(b | tensor({false, true}), {2, 2}, {true, true, true, true});
  EXPECT_TRUE(arange(1, 4).all().item<bool>());  // nonzero integers are true
  EXPECT_KILN_ERROR(arange(3) & arange(3), "bitwise_and", "int64");
}

TEST(Closeness, IscloseAllcloseEqualNanInf) {
  Tensor a = f64({1, 1e-9, kInf, kNaN, 1}, {5});
  Tensor b = f64({1 + 1e-6, 0, kInf, kNaN, 1.1}, {5});
  expect_tensor<bool>(a.isclose(b), {5}, {true, true, true, false, false});
  expect_tensor<bool>(isclose(a, b, 1e-5, 1e-8, true), {5}, {true, true, true, true, false});
  EXPECT_FALSE(a.allclose(b));
  EXPECT_TRUE(a.slice(0, 0, 3).allclose(b.slice(0, 0, 3)));
  EXPECT_TRUE(equal(arange(3), arange(3)));
  EXPECT_FALSE(equal(arange(3), arange(4)));  // shapes differ
  EXPECT_FALSE(equal(arange(3), arange(3) * 2));
}

TEST(Rounding, FloorCeilRoundTruncSignAndClassification) {
  Tensor x = f64({-1.5, -0.5, 0.5, 1.5, 2.5, -2.7, kNaN}, {7});
  expect_tensor<double>(x.floor(), {7}, {-2, -1, 0, 1, 2, -3, kNaN});
  expect_tensor<double>(x.ceil(), {7}, {-1, -0.0, 1, 2, 3, -2, kNaN});
  expect_tensor<double>(x.round(), {7}, {-2, -0.0, 0, 2, 2, -3, kNaN});  // halves to even
  expect_tensor<double>(x.trunc(), {7}, {-1, -0.0, 0, 1, 2, -2, kNaN});
  expect_tensor<double>(x.sign(), {7}, {-1, -1, 1, 1, 1, -1, kNaN});
  expect_tensor<int64_t>(tensor({-3, 0, 5}).sign(), {3}, {-1, 0, 1});
  EXPECT_EQ(tensor({-3, 0, 5}).floor().dtype(), kInt64);  // exact already
  expect_tensor<bool>(f64({1, kInf, -kInf, kNaN}, {4}).isinf(), {4}, {false, true, true, false});
  expect_tensor<bool>(f64({1, kInf, -kInf, kNaN}, {4}).isnan(), {4}, {false, false, false, true});
  expect_tensor<bool>(f64({1, kInf, -kInf, kNaN}, {4}).isfinite(), {4}, {true, false, false, false});
}

TEST(Elementwise, LerpAndClampWithTensorBounds) {
  Tensor a = f64({0, 10}, {2}), b = f64({10, 20}, {2});
  expect_tensor<double>(a.lerp(b, 0.25), {2}, {2.5, 12.5});
  expect_tensor<double>(lerp(a, b, f64({0, 1}, {2})), {2}, {0, 20});
  Tensor x = f64({-5, 0, 5, 9}, {4});
  expect_tensor<double>(x.clamp(f64({-1, 1, -1, 1}, {4}), f64({1, 2, 3, 4}, {4})), {4}, {-1, 1, 3, 4});
  expect_tensor<double>(clamp(x, std::nullopt, f64({0}, {1})), {4}, {-5, 0, 0, 0});
}

TEST(LinearAlgebra, AddmmBmmOuter) {
  Tensor m1 = f64({1, 2, 3, 4}, {2, 2}), m2 = f64({5, 6, 7, 8}, {2, 2}), bias = f64({1, 1}, {2});
  expect_tensor<double>(bias.addmm(m1, m2), {2, 2}, {20, 23, 44, 51});
  expect_tensor<double>(addmm(bias, m1, m2, 0.5, 2), {2, 2}, {38.5, 44.5, 86.5, 100.5});
  expect_tensor<double>(f64({1, 2}, {2}).outer(f64({3, 4, 5}, {3})), {2, 3}, {3, 4, 5, 6, 8, 10});
  Tensor batch = f64({1, 0, 0, 1, 2, 0, 0, 2}, {2, 2, 2});
  expect_tensor<double>(bmm(batch, m1.unsqueeze(0).expand({2, 2, 2})), {2, 2, 2}, {1, 2, 3, 4, 2, 4, 6, 8});
  EXPECT_KILN_ERROR(m1.bmm(m2), "bmm", "[2, 2]");
  EXPECT_KILN_ERROR(m1.outer(m2), "outer", "[2, 2]");
}

TEST(Einsum, CommonContractionsMatchTheirDefinitions) {
  Tensor a = f64({1, 2, 3, 4, 5, 6}, {2, 3}), b = f64({1, 0, 2, 1, 0, 3}, {3, 2});
  expect_tensor<double>(einsum("ij,jk->ik", {a, b}), {2, 2}, {5, 11, 14, 23});
  expect_tensor<double>(einsum("ij,jk", {a, b}), {2, 2}, {5, 11, 14, 23});  // implicit output
  expect_tensor<double>(einsum("ij->ji", {a}), {3, 2}, {1, 4, 2, 5, 3, 6});
  expect_tensor<double>(einsum("ij->", {a}), {}, {21});
  expect_tensor<double>(einsum("i,i->", {f64({1, 2}, {2}), f64({3, 4}, {2})}), {}, {11});
  expect_tensor<double>(einsum("i,j->ij", {f64({1, 2}, {2}), f64({3, 4}, {2})}), {2, 2}, {3, 4, 6, 8});
  Tensor x = arange(12, dtype(kFloat64)).reshape({2, 2, 3}), y = arange(6, dtype(kFloat64)).reshape({2, 3, 1});
  EXPECT_TRUE(einsum("bij,bjk->bik", {x, y}).allclose(x.matmul(y)));
  EXPECT_TRUE(einsum("bij,bkj->bik", {x, x}).allclose(x.matmul(x.transpose(1, 2))));
  EXPECT_TRUE(einsum("ij,jk,kl->il", {a, b, f64({1, 2, 3, 4}, {2, 2})}).allclose(a.mm(b).mm(f64({1, 2, 3, 4}, {2, 2}))));
  EXPECT_KILN_ERROR(einsum("ij,jk->ik", {a, a}), "einsum", "label 'j' has size 3 and 2");
  EXPECT_KILN_ERROR(einsum("ii->i", {a.slice(1, 0, 2)}), "einsum", "diagonal");
}

TEST(MathGradients, MatchFiniteDifferences) {
  manual_seed(5);
  Tensor x = testing::random_leaf({3, 4});
  Tensor p = (testing::random_leaf({3, 4}).abs() + 0.5).detach().set_requires_grad(true);
  auto one = [](auto fn) { return [fn](const tensor_list& t) { return tensor_list{fn(t[0])}; }; };
  EXPECT_TRUE(gradcheck(one([](const Tensor& t) { return t.norm(2, {1}); }), {p}));
  EXPECT_TRUE(gradcheck(one([](const Tensor& t) { return t.norm(3, {0}); }), {p}));
  EXPECT_TRUE(gradcheck(one([](const Tensor& t) { return t.var({1}); }), {x}));
  EXPECT_TRUE(gradcheck(one([](const Tensor& t) { return t.std({0}, false); }), {x}));
  EXPECT_TRUE(gradcheck(one([](const Tensor& t) { return t.prod(1); }), {x}));
  EXPECT_TRUE(gradcheck(one([](const Tensor& t) { return t.cumsum(1); }), {x}));
  EXPECT_TRUE(gradcheck(one([](const Tensor& t) { return t.logsumexp({1}); }), {x}));
  EXPECT_TRUE(gradcheck(one([](const Tensor& t) { return t.floor() + t; }), {x}));
  EXPECT_TRUE(gradcheck([](const tensor_list& t) { return tensor_list{t[0].lerp(t[1], 0.3)}; }, {x, p}));
  EXPECT_TRUE(gradcheck([](const tensor_list& t) { return tensor_list{einsum("ij,kj->ik", {t[0], t[1]})}; }, {x, p}));
  EXPECT_TRUE(gradcheck([](const tensor_list& t) { return tensor_list{t[0].outer(t[1])}; },
                        {x.select(0, 0).detach().set_requires_grad(true), p.select(1, 0).detach().set_requires_grad(true)}));
}

}  // namespace
}  // namespace kiln
