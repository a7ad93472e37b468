// Reading values before backward(): printing, item(), eval() or data_ptr() of an intermediate
// must not change any gradient, as it does not in LibTorch. Reading a tensor that a pending
// graph still uses gives it a private copy (copy on write); the copy must keep the gradient
// identity of the value it copies, including built-in and user-written custom rules.
#include <gtest/gtest.h>

#include <random>
#include <sstream>

#include "kiln/kiln.h"
#include "tests/random_graph.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using testing::expect_tensor;

Tensor scalar_leaf(double v) { return full({1}, v, dtype(kFloat64)).requires_grad_(); }

// The program: max(dim) has a built-in custom rule (its gradient goes to the index).
TEST(ReadBeforeBackward, DataPtrOfMaxValuesKeepsBothGradientPaths) {
  Tensor x = scalar_leaf(0.2);
  Tensor y = std::get<0>(x.max(0, true));
  Tensor z = y * 2;
  EXPECT_DOUBLE_EQ(y.data_ptr<double>()[0], 0.2);
  ((y * 0.5).sum() + z.sum()).backward();
  expect_tensor<double>(x.grad(), {1}, {2.5}, 1e-12);
}

TEST(ReadBeforeBackward, EveryWayOfReadingKeepsTheGradient) {
  using Read = std::function<void(const Tensor&)>;
  std::vector<std::pair<const char*, Read>> reads = {
      {"data_ptr", [](const Tensor& t) { (void)t.data_ptr<double>(); }},
      {"item", [](const Tensor& t) { (void)t.sum().item<double>(); }},
      {"eval", [](const Tensor& t) { t.eval(); }},
      {"print", [](const Tensor& t) { std::ostringstream os; os << t; }},
  };
  for (const auto& [name, read] : reads) {
    SCOPED_TRACE(name);
    Tensor x = full({2, 3}, 0.3, dtype(kFloat64)).requires_grad_();
    Tensor h = (x * x).exp();  // d/dx = 2x e^(x^2)
    Tensor m = std::get<0>((h * 3).max(1, false));  // one max per row, built-in custom rule
    Tensor later = m.sin();
    read(h);
    read(m);
    (later.sum() + (h * 0.25).sum() + m.sum()).backward();
    // Every element ties for its row's max, so max(dim) sends the row's gradient to index 0.
    double e = std::exp(0.09), dm = 3 * 2 * 0.3 * e, cos_m = std::cos(3 * e);
    double first = 0.25 * 2 * 0.3 * e + (cos_m + 1) * dm, rest = 0.25 * 2 * 0.3 * e;
    expect_tensor<double>(x.grad(), {2, 3}, {first, rest, rest, first, rest, rest}, 1e-12);
  }
}

// A user-written Function: a copy on write of its output must still run its backward.
struct TimesThree : autograd::Function<TimesThree> {
  static Tensor forward(autograd::AutogradContext*, const Tensor& x) { return x * 3; }
  static TensorList backward(autograd::AutogradContext*, TensorList g) { return {g[0] * 3}; }
};

TEST(ReadBeforeBackward, DataPtrOfACustomFunctionOutputKeepsItsRule) {
  Tensor x = scalar_leaf(1.5);
  Tensor y = TimesThree::apply(x);
  Tensor z = y * y;  // a pending reader of y: data_ptr must copy
  double* p = y.data_ptr<double>();
  EXPECT_DOUBLE_EQ(p[0], 4.5);
  (y.sum() + z.sum()).backward();
  expect_tensor<double>(x.grad(), {1}, {3 + 2 * 4.5 * 3}, 1e-12);
}

// Random programs: the same program differentiated with and without reading intermediate values
// at random points (each read value also feeding the loss directly, so that it has a pending
// reader) gives the same gradient.
TEST(ReadBeforeBackward, RandomProgramsGiveTheSameGradientWhenValuesAreRead) {
  for (uint32_t seed = 1; seed <= 120; ++seed) {
    testing::RandomGraph graph(seed, /*differentiable=*/true);
    Shape shape = graph.input_shape();
    manual_seed(200000 + seed);
    Tensor x0 = testing::random_leaf(shape).detach();
    auto gradient = [&](bool read) {
      Tensor x = x0.clone().requires_grad_();
      std::mt19937 pick(seed);
      std::vector<Tensor> taps;
      Tensor y = graph.build(x, [&](const Tensor& t) {
        int what = static_cast<int>(pick() % 5);
        if (what == 4) return;
        taps.push_back(t);
        if (!read) return;
        if (what == 0) (void)t.data_ptr<double>();
        else if (what == 1) t.eval();
        else if (what == 2) (void)t.sum().item<double>();
        else std::ostringstream() << t;
      });
      Tensor loss = (y * 0.7).sum();
      for (size_t i = 0; i < taps.size(); ++i) loss = loss + (taps[i] * (0.3 + 0.1 * i)).sum();
      loss.backward();
      return x.grad();
    };
    Tensor expected = gradient(false), got = gradient(true);
    ASSERT_TRUE(expected.defined()) << "seed " << seed;
    ASSERT_TRUE(got.defined()) << "seed " << seed << ": a gradient path was dropped";
    std::vector<double> e = expected.to_vector<double>(), g = got.to_vector<double>();
    ASSERT_EQ(e.size(), g.size());
    for (size_t i = 0; i < e.size(); ++i)
      ASSERT_NEAR(g[i], e[i], 1e-9 * (1 + std::abs(e[i]))) << "seed " << seed << " element " << i;
  }
}

}  // namespace
}  // namespace kiln
