// Every differentiable primitive and composite op against float64 central finite differences
// (autograd::gradcheck), on random inputs of several shapes, broadcasting included.
#include <gtest/gtest.h>

#include <functional>
#include <string>

#include "kiln/kiln.h"
#include "tests/random_graph.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using autograd::gradcheck;
using autograd::tensor_list;
using testing::random_leaf;

using Unary = std::function<Tensor(const Tensor&)>;
using Binary = std::function<Tensor(const Tensor&, const Tensor&)>;

struct UnaryCase {
  std::string name;
  Unary fn;
  bool positive = false;
  autograd::GradcheckOptions options = {};
  friend void PrintTo(const UnaryCase& c, std::ostream* os) { *os << c.name; }
};

class GradcheckUnary : public ::testing::TestWithParam<UnaryCase> {};

TEST_P(GradcheckUnary, MatchesFiniteDifferences) {
  const UnaryCase& c = GetParam();
  manual_seed(7);
  for (const Shape& shape : {Shape{}, Shape{3}, Shape{2, 3}, Shape{2, 1, 4}}) {
    SCOPED_TRACE(shape_str(shape));
    EXPECT_TRUE(gradcheck([&](const tensor_list& x) { return tensor_list{c.fn(x[0])}; },
                          {random_leaf(shape, c.positive)}, c.options));
  }
}

INSTANTIATE_TEST_SUITE_P(Ops, GradcheckUnary,
                         ::testing::Values(UnaryCase{"neg", [](const Tensor& x) { return -x; }},
                                           UnaryCase{"abs", [](const Tensor& x) { return x.abs(); }},
                                           UnaryCase{"exp", [](const Tensor& x) { return x.exp(); }},
                                           UnaryCase{"log", [](const Tensor& x) { return x.log(); }, true},
                                           UnaryCase{"sqrt", [](const Tensor& x) { return x.sqrt(); }, true},
                                           UnaryCase{"rsqrt", [](const Tensor& x) { return x.rsqrt(); }, true},
                                           UnaryCase{"tanh", [](const Tensor& x) { return x.tanh(); }},
                                           UnaryCase{"sigmoid", [](const Tensor& x) { return x.sigmoid(); }},
                                           UnaryCase{"relu", [](const Tensor& x) { return x.relu(); }},
                                           UnaryCase{"erf", [](const Tensor& x) { return x.erf(); }},
                                           UnaryCase{"sin", [](const Tensor& x) { return x.sin(); }},
                                           UnaryCase{"cos", [](const Tensor& x) { return x.cos(); }},
                                           UnaryCase{"square", [](const Tensor& x) { return x.square(); }},
                                           UnaryCase{"gelu", [](const Tensor& x) { return gelu(x); }},
                                           UnaryCase{"gelu_tanh", [](const Tensor& x) { return gelu(x, "tanh"); }},
                                           UnaryCase{"pow_scalar", [](const Tensor& x) { return x.pow(2.5); }, true},
                                           UnaryCase{"pow_int", [](const Tensor& x) { return x.pow(3); }},
                                           UnaryCase{"clamp", [](const Tensor& x) { return x.clamp(-0.5, 0.5); }},
                                           UnaryCase{"clamp_min", [](const Tensor& x) { return x.clamp(0.1); }},
                                           UnaryCase{"add_scalar", [](const Tensor& x) { return x + 2.0; }},
                                           UnaryCase{"rsub_scalar", [](const Tensor& x) { return 2.0 - x; }},
                                           UnaryCase{"div_scalar", [](const Tensor& x) { return x / 4.0; }},
                                           UnaryCase{"rdiv_scalar", [](const Tensor& x) { return 1.0 / x; }, true},
                                           // Float32 rounding needs a wider step and tolerance.
                                           UnaryCase{"to_float32_and_back",
                                                     [](const Tensor& x) { return (x.to(kFloat32) * 2).to(kFloat64); },
                                                     false,
                                                     {.eps = 1e-3, .atol = 1e-3}},
                                           UnaryCase{"clone", [](const Tensor& x) { return x.clone() * x; }},
                                           UnaryCase{"sum", [](const Tensor& x) { return x.sum(); }},
                                           UnaryCase{"mean", [](const Tensor& x) { return x.mean(); }},
                                           UnaryCase{"max", [](const Tensor& x) { return x.max(); }},
                                           UnaryCase{"min", [](const Tensor& x) { return x.min(); }},
                                           UnaryCase{"flatten", [](const Tensor& x) { return x.flatten() * 3; }},
                                           UnaryCase{"unsqueeze",
                                                     [](const Tensor& x) { return x.unsqueeze(0).exp(); }}),
                         [](const ::testing::TestParamInfo<UnaryCase>& info) { return info.param.name; });

struct BinaryCase {
  std::string name;
  Binary fn;
  bool positive = false;
  friend void PrintTo(const BinaryCase& c, std::ostream* os) { *os << c.name; }
};

class GradcheckBinary : public ::testing::TestWithParam<BinaryCase> {};

TEST_P(GradcheckBinary, MatchesFiniteDifferencesWithBroadcasting) {
  const BinaryCase& c = GetParam();
  manual_seed(11);
  for (auto [a, b] : std::vector<std::pair<Shape, Shape>>{
           {{3}, {3}}, {{2, 3}, {3}}, {{2, 1}, {1, 3}}, {{}, {2, 2}}, {{2, 1, 3}, {4, 1}}}) {
    SCOPED_TRACE(shape_str(a) + " with " + shape_str(b));
    EXPECT_TRUE(gradcheck([&](const tensor_list& x) { return tensor_list{c.fn(x[0], x[1])}; },
                          {random_leaf(a, c.positive), random_leaf(b, c.positive)}));
  }
}

INSTANTIATE_TEST_SUITE_P(
    Ops, GradcheckBinary,
    ::testing::Values(
        BinaryCase{"add", [](const Tensor& a, const Tensor& b) { return a + b; }},
        BinaryCase{"add_alpha", [](const Tensor& a, const Tensor& b) { return a.add(b, 2.5); }},
        BinaryCase{"sub", [](const Tensor& a, const Tensor& b) { return a - b; }},
        BinaryCase{"mul", [](const Tensor& a, const Tensor& b) { return a * b; }},
        BinaryCase{"div", [](const Tensor& a, const Tensor& b) { return a / b; }, true},
        BinaryCase{"pow", [](const Tensor& a, const Tensor& b) { return a.pow(b); }, true},
        BinaryCase{"maximum", [](const Tensor& a, const Tensor& b) { return maximum(a, b); }},
        BinaryCase{"minimum", [](const Tensor& a, const Tensor& b) { return minimum(a, b); }},
        BinaryCase{"where", [](const Tensor& a, const Tensor& b) { return where(a > b, a * 2, b); }},
        BinaryCase{"sub_alpha", [](const Tensor& a, const Tensor& b) { return a.sub(b, 0.5); }},
        BinaryCase{"where_tensor_scalar", [](const Tensor& a, const Tensor& b) { return where(b > 0.0, a * b, -2.0); }},
        BinaryCase{"where_scalar", [](const Tensor& a, const Tensor& b) { return where(a > 0.0, 1.5, b); }}),
    [](const ::testing::TestParamInfo<BinaryCase>& info) { return info.param.name; });

// Ops with their own argument structure: reductions over axes, movement, joins, matmul and the
// normalizations built from them.
class GradcheckShaped : public ::testing::TestWithParam<testing::GradCase> {};

TEST_P(GradcheckShaped, MatchesFiniteDifferences) {
  const testing::GradCase& c = GetParam();
  manual_seed(3);
  tensor_list inputs;
  for (const Shape& s : c.shapes) inputs.push_back(random_leaf(s));
  EXPECT_TRUE(gradcheck([&](const tensor_list& x) { return tensor_list{c.fn(x)}; }, inputs));
}

INSTANTIATE_TEST_SUITE_P(
    Ops, GradcheckShaped,
    ::testing::Values(
        testing::GradCase{"sum_dims", {{2, 3, 4}}, [](const tensor_list& x) { return x[0].sum({0, 2}); }},
        testing::GradCase{"sum_dims_3d", {{3, 1, 2}}, [](const tensor_list& x) { return x[0].sum({1, 2}); }},
        testing::GradCase{"max_dim_3d", {{2, 3, 2}}, [](const tensor_list& x) { return std::get<0>(x[0].max(2)); }},
        testing::GradCase{"softmax_1d", {{5}}, [](const tensor_list& x) { return softmax(x[0], 0); }},
        testing::GradCase{"softmax_3d", {{2, 3, 4}}, [](const tensor_list& x) { return softmax(x[0], 1); }},
        testing::GradCase{"log_softmax_single_column", {{4, 1}}, [](const tensor_list& x) { return log_softmax(x[0], 1); }},
        testing::GradCase{"permute_4d", {{2, 1, 3, 2}}, [](const tensor_list& x) { return x[0].permute({3, 1, 0, 2}) * 2; }},
        testing::GradCase{"slice_negative_and_step", {{3, 8}},
                          [](const tensor_list& x) { return x[0].slice(1, -6, std::nullopt, 3).square(); }},
        testing::GradCase{"cat_three_dim1", {{2, 1}, {2, 3}, {2, 2}},
                          [](const tensor_list& x) { return cat({x[0], x[1], x[2]}, 1).sin(); }},
        testing::GradCase{"matmul_batched", {{2, 2, 3}, {2, 3, 4}}, [](const tensor_list& x) { return x[0].matmul(x[1]); }},
        testing::GradCase{"matmul_vector_vector", {{3}, {3}}, [](const tensor_list& x) { return matmul(x[0], x[1]); }},
        testing::GradCase{"matmul_matrix_vector", {{2, 3}, {3}}, [](const tensor_list& x) { return matmul(x[0], x[1]); }},
        testing::GradCase{"sum_keepdim", {{2, 3}}, [](const tensor_list& x) { return x[0].sum({1}, true); }},
        testing::GradCase{"mean_dim", {{3, 4}}, [](const tensor_list& x) { return x[0].mean({0}); }},
        testing::GradCase{"max_dim", {{3, 4}}, [](const tensor_list& x) { return std::get<0>(x[0].max(1)); }},
        testing::GradCase{"min_dim_keepdim", {{3, 4}}, [](const tensor_list& x) { return std::get<0>(x[0].min(0, true)); }},
        testing::GradCase{"softmax", {{3, 4}}, [](const tensor_list& x) { return softmax(x[0], 1); }},
        testing::GradCase{"softmax_dim0", {{3, 4}}, [](const tensor_list& x) { return softmax(x[0], 0); }},
        testing::GradCase{"log_softmax", {{2, 5}}, [](const tensor_list& x) { return log_softmax(x[0], -1); }},
        testing::GradCase{"reshape", {{2, 6}}, [](const tensor_list& x) { return x[0].reshape({3, 4}) * 2; }},
        testing::GradCase{"view", {{2, 6}}, [](const tensor_list& x) { return x[0].view({4, 3}).exp(); }},
        testing::GradCase{"permute", {{2, 3, 4}}, [](const tensor_list& x) { return x[0].permute({2, 0, 1}).sin(); }},
        testing::GradCase{"transpose", {{2, 3}}, [](const tensor_list& x) { return x[0].t() * x[0].t(); }},
        testing::GradCase{"squeeze", {{2, 1, 3}}, [](const tensor_list& x) { return x[0].squeeze(1).exp(); }},
        testing::GradCase{"squeeze_all", {{1, 3, 1}}, [](const tensor_list& x) { return x[0].squeeze() * 2; }},
        testing::GradCase{"contiguous", {{3, 2}}, [](const tensor_list& x) { return x[0].t().contiguous().exp(); }},
        testing::GradCase{"mean_keepdim", {{2, 3, 2}}, [](const tensor_list& x) { return x[0].mean({0, 2}, true) * x[0]; }},
        testing::GradCase{"expand", {{3, 1}}, [](const tensor_list& x) { return x[0].expand({2, 3, 4}).sin(); }},
        testing::GradCase{"expand_as", {{1, 4}, {3, 4}}, [](const tensor_list& x) { return x[0].expand_as(x[1]) * x[1]; }},
        testing::GradCase{"slice_step", {{7, 3}}, [](const tensor_list& x) { return x[0].slice(0, 1, 6, 2).exp(); }},
        testing::GradCase{"narrow", {{4, 5}}, [](const tensor_list& x) { return x[0].narrow(1, 1, 3) * 2; }},
        testing::GradCase{"select", {{3, 4}}, [](const tensor_list& x) { return x[0].select(1, 2).exp(); }},
        testing::GradCase{"index", {{3, 4}}, [](const tensor_list& x) { return x[0][1] * x[0][2]; }},
        testing::GradCase{"cat", {{2, 3}, {1, 3}}, [](const tensor_list& x) { return cat({x[0], x[1].exp()}, 0); }},
        testing::GradCase{"stack", {{2, 3}, {2, 3}}, [](const tensor_list& x) { return stack({x[0], x[1]}, 1); }},
        testing::GradCase{"matmul", {{3, 4}, {4, 2}}, [](const tensor_list& x) { return x[0].matmul(x[1]); }},
        testing::GradCase{"mm_transposed", {{4, 3}, {2, 4}}, [](const tensor_list& x) { return mm(x[0].t(), x[1].t()); }},
        testing::GradCase{"matmul_vector", {{4}, {4, 3}}, [](const tensor_list& x) { return matmul(x[0], x[1]); }},
        testing::GradCase{"matmul_batched_broadcast", {{2, 3, 4}, {4, 2}},
                   [](const tensor_list& x) { return matmul(x[0], x[1]); }},
        testing::GradCase{"linear_layer", {{5, 4}, {3, 4}, {3}},
                   [](const tensor_list& x) { return (x[0].matmul(x[1].t()) + x[2]).relu(); }},
        testing::GradCase{"layer_norm", {{3, 5}},
                   [](const tensor_list& x) {
                     Tensor mu = x[0].mean({1}, true);
                     Tensor var = (x[0] - mu).square().mean({1}, true);
                     return (x[0] - mu) * (var + 1e-5).rsqrt();
                   }},
        testing::GradCase{"cross_entropy", {{4, 3}},
                   [](const tensor_list& x) {
                     Tensor onehot = tensor({1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0},
                                            dtype(kFloat64)).reshape({4, 3});
                     return -(log_softmax(x[0], 1) * onehot).sum() / 4.0;
                   }},
        testing::GradCase{"in_place_on_non_leaf", {{2, 3}},
                   [](const tensor_list& x) {
                     Tensor y = x[0] * 2;
                     y.slice(1, 0, 2).mul_(x[0].slice(1, 1, 3));
                     return y;
                   }}),
    testing::grad_case_name);

TEST(Gradcheck, DetectsAWrongGradient) {
  struct Wrong : autograd::Function<Wrong> {
    static Tensor forward(autograd::AutogradContext*, const Tensor& x) { return x * x; }
    static tensor_list backward(autograd::AutogradContext*, tensor_list g) { return {g[0]}; }  // should be 2x g
  };
  Tensor x = random_leaf({3});
  EXPECT_FALSE(gradcheck([](const tensor_list& in) { return tensor_list{Wrong::apply(in[0])}; }, {x},
                         {.raise_exception = false}));
  EXPECT_KILN_ERROR(gradcheck([](const tensor_list& in) { return tensor_list{Wrong::apply(in[0])}; }, {x}), "gradcheck",
                    "Jacobian mismatch", "numerical", "analytical");
  Tensor f32 = randn({2}).requires_grad_();
  EXPECT_KILN_ERROR(gradcheck([](const tensor_list& in) { return in; }, {f32}), "gradcheck", "float32", "float64");
}

// Compositions: the rules chained through random programs (broadcasting, reductions, softmax,
// movement, joins), each checked against finite differences through a fixed projection of its
// output to a scalar.
TEST(GradcheckRandomPrograms, MatchFiniteDifferences) {
  constexpr uint32_t kPrograms = 150;
  for (uint32_t seed = 1; seed <= kPrograms; ++seed) {
    testing::RandomGraph graph(seed, /*differentiable=*/true);
    Shape shape = graph.input_shape();
    manual_seed(100000 + seed);  // input_shape() seeded the stream the program's constants come from
    Tensor x = random_leaf(shape);
    auto fn = [&](const tensor_list& in) {
      Tensor y = graph.build(in[0]);
      Tensor weights = (arange(y.numel(), dtype(kFloat64)) * 0.37 + 0.1).sin().reshape(y.sizes());
      return tensor_list{(y * weights).sum()};
    };
    try {
      gradcheck(fn, {x});
    } catch (const Error& e) {
      ADD_FAILURE() << "seed " << seed << ": " << e.what() << "\n" << dump_ir(graph.build(x.detach()));
    }
  }
}

}  // namespace
}  // namespace kiln
