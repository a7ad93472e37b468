// Elementwise ops: values against std:: math on plain vectors (NumPy-style reference loops),
// PyTorch's type promotion, NumPy broadcasting, strided views, and the errors users can hit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <numbers>
#include <optional>
#include <string>
#include <type_traits>
#include <vector>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using ::kiln::testing::expect_tensor;

using ::kiln::testing::kInf;
using ::kiln::testing::kNaN;
using ::kiln::testing::make;
using ::kiln::testing::as;
using ::kiln::testing::tol_for;

// ---------------------------------------------------------------------------------------------
// Reference helpers: plain C++ on std::vector<double>, independent of Kiln.



// The dtype of float-only ops (exp, division, ...) on a T tensor: integers and bools become float32.
template <typename T>
ScalarType floating_result() {
  return std::is_floating_point_v<T> ? dtype_of<T> : kFloat32;
}

// The tensor's dtype as text ("float32"), so that failures print readably.
std::string str(ScalarType t) { return std::string(dtype_name(t)); }
std::string dtype_str(const Tensor& t) { return str(t.dtype()); }


std::vector<double> map(const std::vector<double>& v, const std::function<double(double)>& f) {
  std::vector<double> out;
  for (double x : v) out.push_back(f(x));
  return out;
}

// NumPy broadcasting written out: trailing axes align; each pair must match or contain a 1.
Shape ref_broadcast_shape(const Shape& a, const Shape& b) {
  size_t rank = std::max(a.size(), b.size());
  Shape out(rank);
  for (size_t i = 0; i < rank; ++i) {
    int64_t da = i < a.size() ? a[a.size() - 1 - i] : 1;
    int64_t db = i < b.size() ? b[b.size() - 1 - i] : 1;
    out[rank - 1 - i] = da == 1 ? db : da;
  }
  return out;
}

// The row-major index into an operand of `shape` that feeds output element `flat` of `out`.
int64_t ref_source_index(const Shape& shape, const Shape& out, int64_t flat) {
  int64_t index = 0, stride = 1;
  for (size_t i = 0; i < out.size(); ++i) {
    int64_t size_out = out[out.size() - 1 - i];
    int64_t coord = flat % size_out;
    flat /= size_out;
    if (i < shape.size()) {
      int64_t size = shape[shape.size() - 1 - i];
      if (size != 1) index += coord * stride;
      stride *= size;
    }
  }
  return index;
}

std::vector<double> ref_binary(const std::vector<double>& a, const Shape& sa, const std::vector<double>& b,
                               const Shape& sb, const std::function<double(double, double)>& f) {
  Shape out = ref_broadcast_shape(sa, sb);
  int64_t n = 1;
  for (int64_t d : out) n *= d;
  std::vector<double> r(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) r[i] = f(a[ref_source_index(sa, out, i)], b[ref_source_index(sb, out, i)]);
  return r;
}

// Elementwise over equal-length vectors.
std::vector<double> zip(const std::vector<double>& a, const std::vector<double>& b,
                        const std::function<double(double, double)>& f) {
  std::vector<double> out;
  for (size_t i = 0; i < a.size(); ++i) out.push_back(f(a[i], b[i]));
  return out;
}

// Row-major [rows, cols] -> its transpose [cols, rows].
std::vector<double> ref_transpose(const std::vector<double>& v, int64_t rows, int64_t cols) {
  std::vector<double> out(v.size());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) out[j * rows + i] = v[i * cols + j];
  return out;
}

std::vector<double> iota_values(int64_t n, double start = 0) {
  std::vector<double> out;
  for (int64_t i = 0; i < n; ++i) out.push_back(start + static_cast<double>(i));
  return out;
}

// Checks values that may be infinite or NaN exactly (expect_tensor is for finite values).
void expect_ieee(const Tensor& t, const std::vector<double>& want) {
  std::vector<double> got = t.to_vector<double>();
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    if (std::isnan(want[i]))
      EXPECT_TRUE(std::isnan(got[i])) << "at " << i << ": got " << got[i];
    else if (std::isinf(want[i]))
      EXPECT_EQ(got[i], want[i]) << "at " << i;
    else
      EXPECT_NEAR(got[i], want[i], 1e-6 * (1 + std::fabs(want[i]))) << "at " << i;
  }
}

// Sample inputs (shape [2, 3]) that every dtype holds exactly.
template <typename T>
std::vector<double> lhs_values() {
  if constexpr (std::is_same_v<T, bool>)
    return {1, 0, 1, 0, 1, 1};
  else if constexpr (std::is_integral_v<T>)
    return {-3, 0, 2, 7, -1, 5};
  else
    return {-2.5, 0, 0.75, 3.25, -0.5, 1.5};
}
// A second operand; equal to lhs at a few positions so comparisons and extremes see ties.
template <typename T>
std::vector<double> rhs_values() {
  if constexpr (std::is_same_v<T, bool>)
    return {1, 1, 0, 0, 1, 0};
  else if constexpr (std::is_integral_v<T>)
    return {2, -4, 2, -7, 3, 5};
  else
    return {1.5, -4, 0.75, -2, 3, 1.5};
}
// Nonzero values, usable as divisors.
template <typename T>
std::vector<double> divisor_values() {
  if constexpr (std::is_same_v<T, bool>)
    return {1, 1, 1, 1, 1, 1};
  else if constexpr (std::is_integral_v<T>)
    return {2, -4, 3, -7, 1, 5};
  else
    return {1.5, -4, 0.75, -2, 3, 0.25};
}
// Positive values, for log, sqrt and rsqrt.
template <typename T>
std::vector<double> positive_values() {
  if constexpr (std::is_same_v<T, bool>)
    return {1, 1, 1, 1, 1, 1};
  else if constexpr (std::is_integral_v<T>)
    return {1, 2, 4, 9, 16, 100};
  else
    return {0.25, 1, 2.5, 9, 100, 0.5};
}

const Shape kShape = {2, 3};

using ::kiln::testing::AllDtypes;
using ::kiln::testing::AllDtypesTest;
using ::kiln::testing::FloatingDtypes;
using ::kiln::testing::FloatingDtypesTest;
using ::kiln::testing::NumericDtypes;
using ::kiln::testing::NumericDtypesTest;
TYPED_TEST_SUITE(AllDtypesTest, AllDtypes);
TYPED_TEST_SUITE(NumericDtypesTest, NumericDtypes);
TYPED_TEST_SUITE(FloatingDtypesTest, FloatingDtypes);

// ---------------------------------------------------------------------------------------------
// Unary ops.

struct FloatUnaryCase {
  std::string name;
  std::function<Tensor(const Tensor&)> method;
  std::function<Tensor(const Tensor&)> function;
  std::function<double(double)> reference;
  bool positive_domain;
};

std::vector<FloatUnaryCase> float_unary_cases() {
  return {
      {"exp", [](const Tensor& x) { return x.exp(); }, [](const Tensor& x) { return kiln::exp(x); },
       [](double v) { return std::exp(v); }, false},
      {"log", [](const Tensor& x) { return x.log(); }, [](const Tensor& x) { return kiln::log(x); },
       [](double v) { return std::log(v); }, true},
      {"sqrt", [](const Tensor& x) { return x.sqrt(); }, [](const Tensor& x) { return kiln::sqrt(x); },
       [](double v) { return std::sqrt(v); }, true},
      {"rsqrt", [](const Tensor& x) { return x.rsqrt(); }, [](const Tensor& x) { return kiln::rsqrt(x); },
       [](double v) { return 1.0 / std::sqrt(v); }, true},
      {"tanh", [](const Tensor& x) { return x.tanh(); }, [](const Tensor& x) { return kiln::tanh(x); },
       [](double v) { return std::tanh(v); }, false},
      {"sigmoid", [](const Tensor& x) { return x.sigmoid(); }, [](const Tensor& x) { return kiln::sigmoid(x); },
       [](double v) { return 1.0 / (1.0 + std::exp(-v)); }, false},
      {"sin", [](const Tensor& x) { return x.sin(); }, [](const Tensor& x) { return kiln::sin(x); },
       [](double v) { return std::sin(v); }, false},
      {"cos", [](const Tensor& x) { return x.cos(); }, [](const Tensor& x) { return kiln::cos(x); },
       [](double v) { return std::cos(v); }, false},
      {"erf", [](const Tensor& x) { return x.erf(); }, [](const Tensor& x) { return kiln::erf(x); },
       [](double v) { return std::erf(v); }, false},
  };
}

TYPED_TEST(AllDtypesTest, FloatingUnaryOpsMatchStdMathAndPromoteIntegersToFloat32) {
  using T = TypeParam;
  ScalarType want_dtype = floating_result<T>();
  for (const FloatUnaryCase& c : float_unary_cases()) {
    SCOPED_TRACE(c.name);
    std::vector<double> in = c.positive_domain ? positive_values<T>() : lhs_values<T>();
    Tensor x = make(in, kShape, dtype_of<T>);
    std::vector<double> want = map(as<T>(in), c.reference);
    for (const Tensor& y : {c.method(x), c.function(x)}) {
      EXPECT_EQ(dtype_str(y), str(want_dtype));
      expect_tensor(y, kShape, want, tol_for(want_dtype));
    }
  }
}

TYPED_TEST(NumericDtypesTest, AbsMatchesStdAbsAndKeepsTheDtype) {
  using T = TypeParam;
  Tensor x = make(lhs_values<T>(), kShape, dtype_of<T>);
  std::vector<double> want = map(lhs_values<T>(), [](double v) { return std::fabs(v); });
  for (const Tensor& y : {x.abs(), kiln::abs(x)}) {
    EXPECT_EQ(dtype_str(y), str(dtype_of<T>));
    expect_tensor(y, kShape, want, tol_for(dtype_of<T>));
  }
}

TYPED_TEST(NumericDtypesTest, NegAndUnaryMinusNegateAndKeepTheDtype) {
  using T = TypeParam;
  Tensor x = make(lhs_values<T>(), kShape, dtype_of<T>);
  std::vector<double> want = map(lhs_values<T>(), [](double v) { return -v; });
  for (const Tensor& y : {x.neg(), kiln::neg(x), -x}) {
    EXPECT_EQ(dtype_str(y), str(dtype_of<T>));
    expect_tensor(y, kShape, want, tol_for(dtype_of<T>));
  }
}

TYPED_TEST(NumericDtypesTest, ReluZeroesNegativesAndKeepsTheDtype) {
  using T = TypeParam;
  Tensor x = make(lhs_values<T>(), kShape, dtype_of<T>);
  std::vector<double> want = map(lhs_values<T>(), [](double v) { return v > 0 ? v : 0.0; });
  for (const Tensor& y : {x.relu(), kiln::relu(x)}) {
    EXPECT_EQ(dtype_str(y), str(dtype_of<T>));
    expect_tensor(y, kShape, want, tol_for(dtype_of<T>));
  }
}

TYPED_TEST(NumericDtypesTest, SquareMultipliesEachElementByItselfAndKeepsTheDtype) {
  using T = TypeParam;
  Tensor x = make(lhs_values<T>(), kShape, dtype_of<T>);
  std::vector<double> want = map(lhs_values<T>(), [](double v) { return v * v; });
  for (const Tensor& y : {x.square(), kiln::square(x)}) {
    EXPECT_EQ(dtype_str(y), str(dtype_of<T>));
    expect_tensor(y, kShape, want, tol_for(dtype_of<T>));
  }
}

// torch.square(x) is torch.pow(x, 2); a bool tensor with an integer exponent promotes to int64.
TEST(ElementwiseUnaryTest, SquareOfBoolTensorIsInt64LikePow) {
  Tensor x = make({1, 0, 1}, {3}, kBool);
  Tensor p = x.pow(2);
  EXPECT_EQ(dtype_str(p), "int64");
  expect_tensor<double>(p, {3}, {1, 0, 1});
  Tensor y = x.square();
  EXPECT_EQ(dtype_str(y), "int64");
  expect_tensor<double>(y, {3}, {1, 0, 1});
}

TYPED_TEST(FloatingDtypesTest, GeluNoneIsTheExactErfForm) {
  using T = TypeParam;
  std::vector<double> in = {-3, -1.5, -0.25, 0, 0.5, 1, 2.25, 4};
  Tensor x = make(in, {2, 4}, dtype_of<T>);
  std::vector<double> want = map(in, [](double v) { return 0.5 * v * (1 + std::erf(v / std::numbers::sqrt2)); });
  for (const Tensor& y : {kiln::gelu(x), kiln::gelu(x, "none")}) {
    EXPECT_EQ(dtype_str(y), str(dtype_of<T>));
    expect_tensor(y, {2, 4}, want, tol_for(dtype_of<T>));
  }
}

TYPED_TEST(FloatingDtypesTest, GeluTanhIsTheTanhApproximation) {
  using T = TypeParam;
  std::vector<double> in = {-3, -1.5, -0.25, 0, 0.5, 1, 2.25, 4};
  Tensor x = make(in, {2, 4}, dtype_of<T>);
  std::vector<double> want = map(in, [](double v) {
    return 0.5 * v * (1 + std::tanh(std::sqrt(2 / std::numbers::pi) * (v + 0.044715 * v * v * v)));
  });
  Tensor y = kiln::gelu(x, "tanh");
  EXPECT_EQ(dtype_str(y), str(dtype_of<T>));
  expect_tensor(y, {2, 4}, want, tol_for(dtype_of<T>));
}

TEST(ElementwiseUnaryTest, GeluRejectsAnUnknownApproximation) {
  Tensor x = make({1, 2}, {2}, kFloat32);
  EXPECT_KILN_ERROR(kiln::gelu(x, "sigmoid"), "gelu", "\"sigmoid\"");
}

TEST(ElementwiseUnaryTest, SpecialValuesFollowIeeeArithmetic) {
  Tensor x = make({0, -1, kInf, -kInf, kNaN}, {5}, kFloat32);
  expect_ieee(x.exp(), {1, std::exp(-1.0), kInf, 0, kNaN});
  expect_ieee(x.log(), {-kInf, kNaN, kInf, kNaN, kNaN});
  expect_ieee(x.sqrt(), {0, kNaN, kInf, kNaN, kNaN});
  expect_ieee(x.rsqrt(), {kInf, kNaN, 0, kNaN, kNaN});
  expect_ieee(x.tanh(), {0, std::tanh(-1.0), 1, -1, kNaN});
  expect_ieee(x.sigmoid(), {0.5, 1 / (1 + std::exp(1.0)), 1, 0, kNaN});
  expect_ieee(x.erf(), {0, std::erf(-1.0), 1, -1, kNaN});
  expect_ieee(x.abs(), {0, 1, kInf, kInf, kNaN});
  expect_ieee(x.neg(), {0, 1, -kInf, kInf, kNaN});
  expect_ieee(x.relu(), {0, 0, kInf, 0, kNaN});  // torch.relu propagates NaN
}

TEST(ElementwiseUnaryTest, UnaryOpsKeepZeroDimAndEmptyShapes) {
  Tensor scalar = kiln::tensor(2.0, kFloat64);
  expect_tensor<double>(scalar.exp(), {}, {std::exp(2.0)}, 1e-12);
  expect_tensor<double>(-scalar, {}, {-2.0});
  Tensor empty = kiln::zeros({0, 3});
  expect_tensor<double>(empty.sqrt(), {0, 3}, {});
  expect_tensor<double>(empty.relu(), {0, 3}, {});
}

// ---------------------------------------------------------------------------------------------
// Binary ops between tensors of one dtype.

TYPED_TEST(AllDtypesTest, AddOfTwoTensorsMatchesReference) {
  using T = TypeParam;
  Tensor a = make(lhs_values<T>(), kShape, dtype_of<T>);
  Tensor b = make(rhs_values<T>(), kShape, dtype_of<T>);
  // bool + bool is logical or, as in PyTorch.
  std::vector<double> want = as<T>(zip(as<T>(lhs_values<T>()), as<T>(rhs_values<T>()), std::plus<double>()));
  for (const Tensor& y : {a + b, a.add(b)}) {
    EXPECT_EQ(dtype_str(y), str(dtype_of<T>));
    expect_tensor(y, kShape, want, tol_for(dtype_of<T>));
  }
}

TYPED_TEST(NumericDtypesTest, SubOfTwoTensorsMatchesReference) {
  using T = TypeParam;
  Tensor a = make(lhs_values<T>(), kShape, dtype_of<T>);
  Tensor b = make(rhs_values<T>(), kShape, dtype_of<T>);
  std::vector<double> want = zip(lhs_values<T>(), rhs_values<T>(), std::minus<double>());
  for (const Tensor& y : {a - b, a.sub(b)}) {
    EXPECT_EQ(dtype_str(y), str(dtype_of<T>));
    expect_tensor(y, kShape, want, tol_for(dtype_of<T>));
  }
}

TYPED_TEST(AllDtypesTest, MulOfTwoTensorsMatchesReference) {
  using T = TypeParam;
  Tensor a = make(lhs_values<T>(), kShape, dtype_of<T>);
  Tensor b = make(rhs_values<T>(), kShape, dtype_of<T>);
  std::vector<double> want = zip(as<T>(lhs_values<T>()), as<T>(rhs_values<T>()), std::multiplies<double>());
  for (const Tensor& y : {a * b, a.mul(b)}) {
    EXPECT_EQ(dtype_str(y), str(dtype_of<T>));
    expect_tensor(y, kShape, want, tol_for(dtype_of<T>));
  }
}

TYPED_TEST(AllDtypesTest, DivIsTrueDivisionInFloatingPoint) {
  using T = TypeParam;
  Tensor a = make(lhs_values<T>(), kShape, dtype_of<T>);
  Tensor b = make(divisor_values<T>(), kShape, dtype_of<T>);
  std::vector<double> want = zip(as<T>(lhs_values<T>()), as<T>(divisor_values<T>()), std::divides<double>());
  ScalarType want_dtype = floating_result<T>();
  for (const Tensor& y : {a / b, a.div(b)}) {
    EXPECT_EQ(dtype_str(y), str(want_dtype));
    expect_tensor(y, kShape, want, tol_for(want_dtype));
  }
}

TYPED_TEST(AllDtypesTest, MaximumAndMinimumPickTheLargerAndSmallerElement) {
  using T = TypeParam;
  std::vector<double> l = as<T>(lhs_values<T>()), r = as<T>(rhs_values<T>());
  Tensor a = make(l, kShape, dtype_of<T>);
  Tensor b = make(r, kShape, dtype_of<T>);
  Tensor hi = kiln::maximum(a, b), lo = kiln::minimum(a, b);
  EXPECT_EQ(dtype_str(hi), str(dtype_of<T>));
  EXPECT_EQ(dtype_str(lo), str(dtype_of<T>));
  expect_tensor(hi, kShape, zip(l, r, [](double x, double y) { return std::max(x, y); }), tol_for(dtype_of<T>));
  expect_tensor(lo, kShape, zip(l, r, [](double x, double y) { return std::min(x, y); }), tol_for(dtype_of<T>));
}

TYPED_TEST(AllDtypesTest, ComparisonMethodsAndOperatorsYieldBool) {
  using T = TypeParam;
  std::vector<double> l = as<T>(lhs_values<T>()), r = as<T>(rhs_values<T>());
  Tensor a = make(l, kShape, dtype_of<T>);
  Tensor b = make(r, kShape, dtype_of<T>);
  struct Case {
    const char* name;
    Tensor method, op;
    std::function<bool(double, double)> ref;
  };
  std::vector<Case> cases = {
      {"eq", a.eq(b), a == b, [](double x, double y) { return x == y; }},
      {"ne", a.ne(b), a != b, [](double x, double y) { return x != y; }},
      {"lt", a.lt(b), a < b, [](double x, double y) { return x < y; }},
      {"le", a.le(b), a <= b, [](double x, double y) { return x <= y; }},
      {"gt", a.gt(b), a > b, [](double x, double y) { return x > y; }},
      {"ge", a.ge(b), a >= b, [](double x, double y) { return x >= y; }},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    std::vector<double> want = zip(l, r, [&](double x, double y) { return c.ref(x, y) ? 1.0 : 0.0; });
    for (const Tensor& y : {c.method, c.op}) {
      EXPECT_EQ(dtype_str(y), "bool");
      expect_tensor(y, kShape, want);
    }
  }
}

TYPED_TEST(AllDtypesTest, ComparisonsWithAScalarOnEitherSideYieldBool) {
  using T = TypeParam;
  std::vector<double> l = as<T>(lhs_values<T>());
  Tensor a = make(l, kShape, dtype_of<T>);
  auto expect = [&](const Tensor& y, const std::function<bool(double)>& f) {
    EXPECT_EQ(dtype_str(y), "bool");
    expect_tensor(y, kShape, map(l, [&](double v) { return f(v) ? 1.0 : 0.0; }));
  };
  expect(a < 1, [](double v) { return v < 1; });
  expect(1 > a, [](double v) { return 1 > v; });
  expect(a <= 1, [](double v) { return v <= 1; });
  expect(a == 1, [](double v) { return v == 1; });
  expect(1 != a, [](double v) { return 1 != v; });
  expect(a >= 1, [](double v) { return v >= 1; });
  expect(1 < a, [](double v) { return 1 < v; });
}

TYPED_TEST(AllDtypesTest, WhereSelectsBetweenTensorBranches) {
  using T = TypeParam;
  std::vector<double> cond = {1, 0, 0, 1, 1, 0};
  std::vector<double> l = as<T>(lhs_values<T>()), r = as<T>(rhs_values<T>());
  Tensor y = kiln::where(make(cond, kShape, kBool), make(l, kShape, dtype_of<T>), make(r, kShape, dtype_of<T>));
  std::vector<double> want;
  for (size_t i = 0; i < cond.size(); ++i) want.push_back(cond[i] != 0 ? l[i] : r[i]);
  EXPECT_EQ(dtype_str(y), str(dtype_of<T>));
  expect_tensor(y, kShape, want, tol_for(dtype_of<T>));
}

// ---------------------------------------------------------------------------------------------
// Scalars as operands.

// An integer scalar does not change an integral or floating tensor's dtype; it lifts bool to int64.
TYPED_TEST(AllDtypesTest, IntegerScalarOnEitherSideOfArithmeticOperators) {
  using T = TypeParam;
  std::vector<double> l = as<T>(lhs_values<T>()), d = as<T>(divisor_values<T>());
  Tensor a = make(l, kShape, dtype_of<T>);
  Tensor nonzero = make(d, kShape, dtype_of<T>);
  ScalarType t = std::is_same_v<T, bool> ? kInt64 : dtype_of<T>;
  auto expect = [&](const Tensor& y, ScalarType dtype, const std::vector<double>& want) {
    EXPECT_EQ(dtype_str(y), str(dtype));
    expect_tensor(y, kShape, want, tol_for(dtype));
  };
  expect(a + 2, t, map(l, [](double v) { return v + 2; }));
  expect(2 + a, t, map(l, [](double v) { return 2 + v; }));
  expect(a.add(2), t, map(l, [](double v) { return v + 2; }));
  expect(a - 2, t, map(l, [](double v) { return v - 2; }));
  expect(2 - a, t, map(l, [](double v) { return 2 - v; }));
  expect(a.sub(2), t, map(l, [](double v) { return v - 2; }));
  expect(a * 3, t, map(l, [](double v) { return v * 3; }));
  expect(3 * a, t, map(l, [](double v) { return 3 * v; }));
  expect(a.mul(3), t, map(l, [](double v) { return v * 3; }));
  expect(a / 2, floating_result<T>(), map(l, [](double v) { return v / 2; }));
  expect(a.div(2), floating_result<T>(), map(l, [](double v) { return v / 2; }));
  expect(3 / nonzero, floating_result<T>(), map(d, [](double v) { return 3 / v; }));
}

// A floating scalar lifts bool and integral tensors to the default dtype, float32.
TYPED_TEST(AllDtypesTest, FloatScalarOnEitherSidePromotesIntegralTensorsToFloat32) {
  using T = TypeParam;
  std::vector<double> l = as<T>(lhs_values<T>());
  Tensor a = make(l, kShape, dtype_of<T>);
  ScalarType t = floating_result<T>();
  auto expect = [&](const Tensor& y, const std::vector<double>& want) {
    EXPECT_EQ(dtype_str(y), str(t));
    expect_tensor(y, kShape, want, tol_for(t));
  };
  expect(a + 1.5, map(l, [](double v) { return v + 1.5; }));
  expect(1.5 + a, map(l, [](double v) { return 1.5 + v; }));
  expect(a - 0.25, map(l, [](double v) { return v - 0.25; }));
  expect(0.25 - a, map(l, [](double v) { return 0.25 - v; }));
  expect(a * 2.5, map(l, [](double v) { return v * 2.5; }));
  expect(2.5 * a, map(l, [](double v) { return 2.5 * v; }));
  expect(a / 0.5, map(l, [](double v) { return v / 0.5; }));
}

TEST(ElementwiseScalarTest, ComparisonWithAFractionalScalarComparesInFloatingPoint) {
  Tensor a = make({1, 2, 3}, {3}, kInt64);
  expect_tensor<double>(a < 2.5, {3}, {1, 1, 0});
  expect_tensor<double>(a == 2.0, {3}, {0, 1, 0});
  expect_tensor<double>(2.5 <= a, {3}, {0, 0, 1});
}

// ---------------------------------------------------------------------------------------------
// add/sub with alpha.

TYPED_TEST(NumericDtypesTest, AddAndSubWithIntegerAlphaScaleTheOtherOperand) {
  using T = TypeParam;
  std::vector<double> l = lhs_values<T>(), r = rhs_values<T>();
  Tensor a = make(l, kShape, dtype_of<T>);
  Tensor b = make(r, kShape, dtype_of<T>);
  Tensor sum = a.add(b, 3), diff = a.sub(b, 2);
  EXPECT_EQ(dtype_str(sum), str(dtype_of<T>));
  EXPECT_EQ(dtype_str(diff), str(dtype_of<T>));
  expect_tensor(sum, kShape, zip(l, r, [](double x, double y) { return x + 3 * y; }), tol_for(dtype_of<T>));
  expect_tensor(diff, kShape, zip(l, r, [](double x, double y) { return x - 2 * y; }), tol_for(dtype_of<T>));
}

TYPED_TEST(FloatingDtypesTest, AddAndSubWithFractionalAlphaScaleTheOtherOperand) {
  using T = TypeParam;
  std::vector<double> l = lhs_values<T>(), r = rhs_values<T>();
  Tensor a = make(l, kShape, dtype_of<T>);
  Tensor b = make(r, kShape, dtype_of<T>);
  expect_tensor(a.add(b, 0.5), kShape, zip(l, r, [](double x, double y) { return x + 0.5 * y; }), tol_for(dtype_of<T>));
  expect_tensor(a.sub(b, -1.5), kShape, zip(l, r, [](double x, double y) { return x + 1.5 * y; }),
                tol_for(dtype_of<T>));
}

TEST(ElementwiseAlphaTest, AddWithAlphaPromotesLikeAddWithoutAlpha) {
  Tensor i = make({1, 2, 3}, {3}, kInt64);
  Tensor f = make({0.5, 0.25, 0.125}, {3}, kFloat32);
  Tensor y = i.add(f, 2.0);  // float alpha is allowed because the common dtype is floating
  EXPECT_EQ(dtype_str(y), "float32");
  expect_tensor<double>(y, {3}, {2, 2.5, 3.25});
  Tensor z = f.sub(i, 2);
  EXPECT_EQ(dtype_str(z), "float32");
  expect_tensor<double>(z, {3}, {-1.5, -3.75, -5.875});
}

// PyTorch computes self + alpha * other in the common dtype of self and other, so scaling `other`
// neither rounds to other's narrower dtype nor overflows it.
TEST(ElementwiseAlphaTest, AlphaScalesInTheCommonDtype) {
  Tensor f64 = make({0, 0}, {2}, kFloat64);
  Tensor f32 = make({1, 3}, {2}, kFloat32);
  Tensor a = f64.add(f32, 0.1);
  EXPECT_EQ(dtype_str(a), "float64");
  expect_tensor<double>(a, {2}, {0.1, 0.3}, 1e-12);  // not float32(0.1) = 0.100000001490116...
  Tensor big = make({1 << 30, -(1 << 30)}, {2}, kInt32);
  Tensor b = make({0, 0}, {2}, kInt64).add(big, 4);
  EXPECT_EQ(dtype_str(b), "int64");
  EXPECT_EQ(b.to_vector<int64_t>(), (std::vector<int64_t>{int64_t{1} << 32, -(int64_t{1} << 32)}));
  Tensor c = make({0, 0}, {2}, kFloat64).sub(big, 4);
  expect_tensor<double>(c, {2}, {-4294967296.0, 4294967296.0}, 1e-12);
}

// torch.add(int, int, alpha=1.5) raises "For integral input tensors, argument alpha must not be a
// floating point number."
TEST(ElementwiseAlphaTest, FloatingAlphaWithIntegralTensorsIsAnError) {
  Tensor a = make({1, 2, 3}, {3}, kInt64);
  Tensor b = make({4, 5, 6}, {3}, kInt32);
  EXPECT_KILN_ERROR((a.add(b, 1.5)), "add", "alpha");
  EXPECT_KILN_ERROR((a.sub(b, 0.5)), "sub", "alpha");
}

// torch.add(bool, bool, alpha=2): the common dtype is bool, so the result is bool (a || b).
TEST(ElementwiseAlphaTest, AddOfBoolTensorsWithIntegerAlphaStaysBool) {
  Tensor a = make({1, 0, 0}, {3}, kBool);
  Tensor b = make({1, 1, 0}, {3}, kBool);
  Tensor y = a.add(b, 2);
  EXPECT_EQ(dtype_str(y), "bool");
  expect_tensor<double>(y, {3}, {1, 1, 0});
}

// ---------------------------------------------------------------------------------------------
// pow, clamp.

TYPED_TEST(NumericDtypesTest, PowWithIntegerScalarExponentKeepsTheDtype) {
  using T = TypeParam;
  std::vector<double> l = lhs_values<T>();
  Tensor x = make(l, kShape, dtype_of<T>);
  for (int e : {0, 1, 2, 3}) {
    SCOPED_TRACE(e);
    std::vector<double> want = map(l, [e](double v) { return std::pow(v, e); });
    for (const Tensor& y : {x.pow(e), kiln::pow(x, e)}) {
      EXPECT_EQ(dtype_str(y), str(dtype_of<T>));
      expect_tensor(y, kShape, want, tol_for(dtype_of<T>));
    }
  }
}

TYPED_TEST(AllDtypesTest, PowWithFractionalScalarExponentIsFloating) {
  using T = TypeParam;
  std::vector<double> p = as<T>(positive_values<T>());
  Tensor x = make(p, kShape, dtype_of<T>);
  Tensor y = x.pow(0.5);
  EXPECT_EQ(dtype_str(y), str(floating_result<T>()));
  expect_tensor(y, kShape, map(p, [](double v) { return std::sqrt(v); }), tol_for(floating_result<T>()));
  Tensor z = x.pow(-1.5);  // negative floating exponents are fine for integer bases
  expect_tensor(z, kShape, map(p, [](double v) { return std::pow(v, -1.5); }), tol_for(floating_result<T>()));
}

TYPED_TEST(NumericDtypesTest, PowWithTensorExponentBroadcastsAndKeepsTheDtype) {
  using T = TypeParam;
  std::vector<double> base = lhs_values<T>();  // [2, 3]
  std::vector<double> exps = {2, 0, 3};        // [3]
  Tensor y = kiln::pow(make(base, kShape, dtype_of<T>), make(exps, {3}, dtype_of<T>));
  EXPECT_EQ(dtype_str(y), str(dtype_of<T>));
  expect_tensor(y, kShape, ref_binary(base, kShape, exps, {3}, [](double b, double e) { return std::pow(b, e); }),
                tol_for(dtype_of<T>));
  Tensor z = make(base, kShape, dtype_of<T>).pow(make(exps, {3}, dtype_of<T>));
  expect_tensor(z, kShape, ref_binary(base, kShape, exps, {3}, [](double b, double e) { return std::pow(b, e); }),
                tol_for(dtype_of<T>));
}

TEST(ElementwisePowTest, PowPromotesMixedOperands) {
  Tensor i32 = make({1, 2, 3}, {3}, kInt32);
  Tensor i64 = make({2, 2, 2}, {3}, kInt64);
  Tensor f32 = make({0.5, 1, 2}, {3}, kFloat32);
  Tensor a = kiln::pow(i32, i64);
  EXPECT_EQ(dtype_str(a), "int64");
  expect_tensor<double>(a, {3}, {1, 4, 9});
  Tensor b = kiln::pow(i64, f32);
  EXPECT_EQ(dtype_str(b), "float32");
  expect_tensor<double>(b, {3}, {std::sqrt(2.0), 2, 4});
  Tensor c = kiln::pow(f32, kiln::tensor(2.0, kFloat64));  // 0-dim float64 does not lift float32
  EXPECT_EQ(dtype_str(c), "float32");
  expect_tensor<double>(c, {3}, {0.25, 1, 4});
}

// With a tensor exponent PyTorch computes integer powers exactly: 1 and -1 keep magnitude 1 and
// any other base to a negative power truncates to 0.
TEST(ElementwisePowTest, IntegerTensorToNegativeIntegerTensorExponentTruncates) {
  Tensor base = make({2, 1, -1, -1, 3, -2}, {6}, kInt64);
  Tensor exps = make({-1, -3, -3, -2, -2, -1}, {6}, kInt64);
  Tensor y = kiln::pow(base, exps);
  EXPECT_EQ(dtype_str(y), "int64");
  expect_tensor<double>(y, {6}, {0, 1, -1, 1, 0, 0});
}

TEST(ElementwisePowTest, LargeIntegerPowersAreExact) {
  Tensor y = make({2, 3, -2}, {3}, kInt64).pow(39);  // 3^39 needs 62 bits: more than a double holds
  EXPECT_EQ(y.to_vector<int64_t>(), (std::vector<int64_t>{int64_t{1} << 39, 4052555153018976267, -(int64_t{1} << 39)}));
}

TEST(ElementwisePowTest, FloatingSpecialCases) {
  Tensor x = make({0, -8, 2, -2, kNaN, 1}, {6}, kFloat64);
  expect_ieee(x.pow(0), {1, 1, 1, 1, 1, 1});  // pow(NaN, 0) == 1
  expect_ieee(x.pow(1.0 / 3), {0, kNaN, std::cbrt(2.0), kNaN, kNaN, 1});
  expect_ieee(x.pow(-1), {kInf, -0.125, 0.5, -0.5, kNaN, 1});
}

TEST(ElementwisePowTest, IntegerBaseToNegativeIntegerScalarIsAnError) {
  Tensor i = make({1, 2, 3}, {3}, kInt64);
  Tensor b = make({1, 0}, {2}, kBool);
  EXPECT_KILN_ERROR(i.pow(-1), "pow", "-1");
  EXPECT_KILN_ERROR(kiln::pow(make({1, 2}, {2}, kInt32), -2), "pow", "-2");
  EXPECT_KILN_ERROR(b.pow(-3), "pow", "-3");
}

TYPED_TEST(NumericDtypesTest, ClampWithIntegerBoundsKeepsTheDtype) {
  using T = TypeParam;
  std::vector<double> l = lhs_values<T>();
  Tensor x = make(l, kShape, dtype_of<T>);
  auto expect = [&](const Tensor& y, const std::vector<double>& want) {
    EXPECT_EQ(dtype_str(y), str(dtype_of<T>));
    expect_tensor(y, kShape, want, tol_for(dtype_of<T>));
  };
  expect(x.clamp(-1, 2), map(l, [](double v) { return std::min(std::max(v, -1.0), 2.0); }));
  expect(kiln::clamp(x, -1, 2), map(l, [](double v) { return std::min(std::max(v, -1.0), 2.0); }));
  expect(x.clamp(0), map(l, [](double v) { return std::max(v, 0.0); }));
  expect(x.clamp(std::nullopt, 1), map(l, [](double v) { return std::min(v, 1.0); }));
  // min > max: every element becomes max, as torch.clamp documents.
  expect(x.clamp(3, 1), map(l, [](double) { return 1.0; }));
}

// Since PyTorch 1.12 clamp's bounds take part in type promotion, like minimum/maximum.
TEST(ElementwiseClampTest, FloatingBoundsPromoteIntegralTensorsToFloat32) {
  Tensor x = make({-3, 0, 2, 7}, {4}, kInt64);
  Tensor y = x.clamp(-0.5, 2.5);
  EXPECT_EQ(dtype_str(y), "float32");
  expect_tensor<double>(y, {4}, {-0.5, 0, 2, 2.5});
}

TEST(ElementwiseClampTest, ClampPropagatesNaN) {
  Tensor x = make({kNaN, -5, 5}, {3}, kFloat32);
  expect_ieee(x.clamp(-1, 1), {kNaN, -1, 1});
}

TEST(ElementwiseClampTest, ClampWithoutBoundsIsAnError) {
  Tensor x = make({1, 2}, {2}, kFloat32);
  EXPECT_KILN_ERROR(x.clamp(std::optional<Scalar>(), std::nullopt), "clamp", "min", "max");
}

// ---------------------------------------------------------------------------------------------
// NaN handling in binary ops.

TYPED_TEST(FloatingDtypesTest, MaximumAndMinimumPropagateNaNFromEitherSide) {
  using T = TypeParam;
  Tensor a = make({kNaN, 1, kNaN, 2}, {4}, dtype_of<T>);
  Tensor b = make({0, kNaN, kNaN, 3}, {4}, dtype_of<T>);
  expect_ieee(kiln::maximum(a, b), {kNaN, kNaN, kNaN, 3});
  expect_ieee(kiln::minimum(a, b), {kNaN, kNaN, kNaN, 2});
  expect_ieee(kiln::maximum(b, a), {kNaN, kNaN, kNaN, 3});
  expect_ieee(kiln::minimum(b, a), {kNaN, kNaN, kNaN, 2});
}

TYPED_TEST(FloatingDtypesTest, ComparisonsWithNaNAreFalseExceptNe) {
  using T = TypeParam;
  Tensor a = make({kNaN, kNaN, 1}, {3}, dtype_of<T>);
  Tensor b = make({kNaN, 1, 1}, {3}, dtype_of<T>);
  expect_tensor<double>(a == b, {3}, {0, 0, 1});
  expect_tensor<double>(a != b, {3}, {1, 1, 0});
  expect_tensor<double>(a < b, {3}, {0, 0, 0});
  expect_tensor<double>(a <= b, {3}, {0, 0, 1});
  expect_tensor<double>(a > b, {3}, {0, 0, 0});
  expect_tensor<double>(a >= b, {3}, {0, 0, 1});
}

TEST(ElementwiseDivisionTest, DivisionByZeroGivesInfinityOrNaN) {
  Tensor f = make({1, -1, 0}, {3}, kFloat32);
  expect_ieee(f / 0, {kInf, -kInf, kNaN});
  Tensor i = make({1, -1, 0}, {3}, kInt64);
  Tensor y = i / make({0, 0, 0}, {3}, kInt64);
  EXPECT_EQ(dtype_str(y), "float32");
  expect_ieee(y, {kInf, -kInf, kNaN});
}

// ---------------------------------------------------------------------------------------------
// where.

TEST(ElementwiseWhereTest, ScalarBranchesPromoteLikeBinaryOps) {
  Tensor cond = make({1, 0, 1}, {3}, kBool);
  Tensor i = make({10, 20, 30}, {3}, kInt32);
  Tensor a = kiln::where(cond, i, 7);
  EXPECT_EQ(dtype_str(a), "int32");
  expect_tensor<double>(a, {3}, {10, 7, 30});
  Tensor b = kiln::where(cond, 1.5, i);
  EXPECT_EQ(dtype_str(b), "float32");
  expect_tensor<double>(b, {3}, {1.5, 20, 1.5});
  Tensor c = kiln::where(cond, make({1, 0, 1}, {3}, kBool), 5);
  EXPECT_EQ(dtype_str(c), "int64");
  expect_tensor<double>(c, {3}, {1, 5, 1});
}

TEST(ElementwiseWhereTest, TensorBranchesPromoteLikeBinaryOps) {
  Tensor cond = make({0, 1}, {2}, kBool);
  Tensor i32 = make({1, 2}, {2}, kInt32);
  Tensor i64 = make({3, 4}, {2}, kInt64);
  Tensor f32 = make({0.5, 1.5}, {2}, kFloat32);
  Tensor a = kiln::where(cond, i32, i64);
  EXPECT_EQ(dtype_str(a), "int64");
  expect_tensor<double>(a, {2}, {3, 2});
  Tensor b = kiln::where(cond, f32, kiln::tensor(9.0, kFloat64));  // 0-dim float64 does not lift float32
  EXPECT_EQ(dtype_str(b), "float32");
  expect_tensor<double>(b, {2}, {9, 1.5});
  Tensor c = kiln::where(cond, i64, kiln::tensor(0.25, kFloat64));  // ... but lifts an integral tensor
  EXPECT_EQ(dtype_str(c), "float64");
  expect_tensor<double>(c, {2}, {0.25, 4});
}

TEST(ElementwiseWhereTest, BroadcastsConditionAndBothBranches) {
  std::vector<double> cond = {1, 0, 1};      // [3, 1]
  std::vector<double> a = {10, 20, 30, 40};  // [4]
  std::vector<double> b = {-1, -2, -3, -4};  // [1, 4]
  Tensor y = kiln::where(make(cond, {3, 1}, kBool), make(a, {4}, kFloat32), make(b, {1, 4}, kFloat32));
  std::vector<double> want;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) want.push_back(cond[i] != 0 ? a[j] : b[j]);
  expect_tensor(y, {3, 4}, want);
  Tensor z = kiln::where(make(cond, {3, 1}, kBool), 1, make(a, {4}, kInt64));
  std::vector<double> want_z;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) want_z.push_back(cond[i] != 0 ? 1 : a[j]);
  expect_tensor(z, {3, 4}, want_z);
}

TEST(ElementwiseWhereTest, NonBoolConditionIsAnError) {
  Tensor cond = make({1, 0}, {2}, kInt64);
  Tensor a = make({1, 2}, {2}, kFloat32);
  EXPECT_KILN_ERROR(kiln::where(cond, a, a), "where", "bool", "int64");
}

TEST(ElementwiseWhereTest, IncompatibleShapesAreAnErrorNamingEachShape) {
  Tensor cond = make({1, 0, 1}, {3}, kBool);
  Tensor a = make({1, 2, 3, 4}, {4}, kFloat32);
  EXPECT_KILN_ERROR(kiln::where(cond, a, 0.0), "where", "[3]", "[4]");
}

// ---------------------------------------------------------------------------------------------
// Type promotion (torch.result_type).

TEST(TypePromotionTest, IntegralTensorPlusIntegerScalarStaysIntegral) {
  Tensor i64 = make({1, 2}, {2}, kInt64);
  Tensor i32 = make({1, 2}, {2}, kInt32);
  EXPECT_EQ(dtype_str(i64 + 1), "int64");
  EXPECT_EQ(dtype_str(i32 + 1), "int32");
  EXPECT_EQ(dtype_str(1 + i32), "int32");
  EXPECT_EQ(dtype_str(i32 * (int64_t{1} << 40)), "int32");
  expect_tensor<double>(i32 + 1, {2}, {2, 3});
}

TEST(TypePromotionTest, IntegralTensorPlusFloatScalarIsFloat32) {
  Tensor i64 = make({1, 2}, {2}, kInt64);
  Tensor i32 = make({1, 2}, {2}, kInt32);
  EXPECT_EQ(dtype_str(i64 + 1.5), "float32");
  EXPECT_EQ(dtype_str(i32 + 1.5), "float32");
  expect_tensor<double>(i64 + 1.5, {2}, {2.5, 3.5});
  Tensor f64 = make({1, 2}, {2}, kFloat64);
  EXPECT_EQ(dtype_str(f64 + 1.5), "float64");  // the scalar never narrows a tensor
}

TEST(TypePromotionTest, Int32TensorPlusInt64TensorIsInt64) {
  Tensor y = make({1, 2}, {2}, kInt32) + make({int64_t{1} << 40, 3}, {2}, kInt64);
  EXPECT_EQ(dtype_str(y), "int64");
  EXPECT_EQ(y.to_vector<int64_t>(), (std::vector<int64_t>{(int64_t{1} << 40) + 1, 5}));
}

TEST(TypePromotionTest, Float32TensorPlusFloat64ZeroDimTensorStaysFloat32) {
  Tensor y = make({1, 2}, {2}, kFloat32) + kiln::tensor(0.5, kFloat64);
  EXPECT_EQ(dtype_str(y), "float32");
  expect_tensor<double>(y, {2}, {1.5, 2.5});
}

TEST(TypePromotionTest, IntegralTensorPlusFloat64ZeroDimTensorIsFloat64) {
  Tensor y = make({1, 2}, {2}, kInt32) + kiln::tensor(0.5, kFloat64);
  EXPECT_EQ(dtype_str(y), "float64");
  expect_tensor<double>(y, {2}, {1.5, 2.5}, 1e-12);
  Tensor z = kiln::tensor(0.5, kFloat64) * make({1, 2}, {2}, kInt64);
  EXPECT_EQ(dtype_str(z), "float64");
}

TEST(TypePromotionTest, BoolPlusBoolIsLogicalOr) {
  Tensor y = make({1, 1, 0, 0}, {4}, kBool) + make({1, 0, 1, 0}, {4}, kBool);
  EXPECT_EQ(dtype_str(y), "bool");
  expect_tensor<double>(y, {4}, {1, 1, 1, 0});
}

TEST(TypePromotionTest, IntegerDividedByIntegerIsFloat32TrueDivision) {
  Tensor a = make({7, -7, 1, 6}, {4}, kInt64);
  Tensor b = make({2, 2, 3, 3}, {4}, kInt32);
  Tensor y = a / b;
  EXPECT_EQ(dtype_str(y), "float32");
  expect_tensor<double>(y, {4}, {3.5, -3.5, 1.0 / 3, 2});
  EXPECT_EQ(dtype_str(make({1, 2}, {2}, kInt32) / 2), "float32");
  EXPECT_EQ(dtype_str(make({1, 2}, {2}, kInt32) / kiln::tensor(2.0, kFloat64)), "float64");
}

TEST(TypePromotionTest, ComparisonsOfMixedDtypesYieldBool) {
  Tensor i32 = make({1, 2}, {2}, kInt32);
  Tensor f64 = make({1.5, 2}, {2}, kFloat64);
  Tensor y = i32 < f64;
  EXPECT_EQ(dtype_str(y), "bool");
  expect_tensor<double>(y, {2}, {1, 0});
  EXPECT_EQ(dtype_str(i32.eq(f64)), "bool");
  expect_tensor<double>(i32.eq(f64), {2}, {0, 1});
}

TEST(TypePromotionTest, ZeroDimTensorsPromoteAmongThemselvesWhenNoTensorHasDimensions) {
  Tensor i32 = kiln::tensor(3.0, kInt32);
  Tensor f64 = kiln::tensor(0.5, kFloat64);
  Tensor f32 = kiln::tensor(0.5, kFloat32);
  Tensor i64 = kiln::tensor(4.0, kInt64);
  EXPECT_EQ(dtype_str(i32 + f64), "float64");
  EXPECT_EQ(dtype_str(f32 + f64), "float64");
  EXPECT_EQ(dtype_str(i32 + i64), "int64");
  EXPECT_EQ(dtype_str(i32 + 1.5), "float32");
  EXPECT_EQ(dtype_str(i32 + 1), "int32");
  expect_tensor<double>(i32 + f64, {}, {3.5}, 1e-12);
}

TEST(TypePromotionTest, ZeroDimTensorOfSameCategoryDoesNotWidenADimensionedTensor) {
  EXPECT_EQ(dtype_str(make({1, 2}, {2}, kInt32) + kiln::tensor(5.0, kInt64)), "int32");
  EXPECT_EQ(dtype_str(make({1, 0}, {2}, kBool) + kiln::tensor(5.0, kInt32)), "int32");
  EXPECT_EQ(dtype_str(make({1, 0}, {2}, kBool) + kiln::tensor(5.0, kFloat64)), "float64");
}

TEST(TypePromotionTest, ResultTypeMatchesPyTorch) {
  Tensor b = make({1, 0}, {2}, kBool);
  Tensor i32 = make({1, 2}, {2}, kInt32);
  Tensor i64 = make({1, 2}, {2}, kInt64);
  Tensor f32 = make({1, 2}, {2}, kFloat32);
  Tensor f64 = make({1, 2}, {2}, kFloat64);
  Tensor i64_0d = kiln::tensor(1.0, kInt64);
  Tensor i32_0d = kiln::tensor(1.0, kInt32);
  Tensor f64_0d = kiln::tensor(1.0, kFloat64);
  Tensor f32_0d = kiln::tensor(1.0, kFloat32);
  auto rt = [](const Tensor& a, const Tensor& c) { return str(kiln::result_type(a, c)); };
  auto rs = [](const Tensor& a, const Scalar& c) { return str(kiln::result_type(a, c)); };
  EXPECT_EQ(rt(b, b), "bool");
  EXPECT_EQ(rt(b, i32), "int32");
  EXPECT_EQ(rt(i32, i64), "int64");
  EXPECT_EQ(rt(i64, f32), "float32");
  EXPECT_EQ(rt(f32, f64), "float64");
  EXPECT_EQ(rt(f32, f64_0d), "float32");
  EXPECT_EQ(rt(i64, f64_0d), "float64");
  EXPECT_EQ(rt(i32, i64_0d), "int32");
  EXPECT_EQ(rt(b, i64_0d), "int64");
  EXPECT_EQ(rt(i64_0d, f32), "float32");
  EXPECT_EQ(rt(f32_0d, f64_0d), "float64");
  EXPECT_EQ(rt(i32_0d, f32_0d), "float32");
  EXPECT_EQ(rs(b, true), "bool");
  EXPECT_EQ(rs(b, 1), "int64");
  EXPECT_EQ(rs(b, 1.5), "float32");
  EXPECT_EQ(rs(i32, 1), "int32");
  EXPECT_EQ(rs(i32, 1.5), "float32");
  EXPECT_EQ(rs(i64, true), "int64");
  EXPECT_EQ(rs(f32, 1.5), "float32");
  EXPECT_EQ(rs(f64, 1), "float64");
  EXPECT_EQ(rs(i32_0d, 1.5), "float32");
  EXPECT_EQ(rs(f64_0d, 1.5), "float64");
}

// ---------------------------------------------------------------------------------------------
// Broadcasting.

TEST(BroadcastTest, ColumnAgainstRow) {
  std::vector<double> a = {1, 2, 3}, b = {10, 20, 30, 40};
  Tensor x = make(a, {3, 1}, kFloat32), y = make(b, {4}, kFloat32);
  expect_tensor(x + y, {3, 4}, ref_binary(a, {3, 1}, b, {4}, std::plus<double>()));
  expect_tensor(y - x, {3, 4}, ref_binary(b, {4}, a, {3, 1}, std::minus<double>()));
  expect_tensor(x * y, {3, 4}, ref_binary(a, {3, 1}, b, {4}, std::multiplies<double>()));
  expect_tensor(y / x, {3, 4}, ref_binary(b, {4}, a, {3, 1}, std::divides<double>()));
}

TEST(BroadcastTest, ThreeDimsAgainstTwoDims) {
  std::vector<double> a = iota_values(6, -2), b = {0.5, -1, 2, 3};  // [2, 1, 3] and [4, 1]
  Shape sa = {2, 1, 3}, sb = {4, 1}, out = {2, 4, 3};
  Tensor x = make(a, sa, kFloat64), y = make(b, sb, kFloat64);
  expect_tensor(x + y, out, ref_binary(a, sa, b, sb, std::plus<double>()), 1e-12);
  expect_tensor(x * y, out, ref_binary(a, sa, b, sb, std::multiplies<double>()), 1e-12);
  expect_tensor(kiln::maximum(x, y), out, ref_binary(a, sa, b, sb, [](double u, double v) { return std::max(u, v); }),
                1e-12);
  expect_tensor(x > y, out, ref_binary(a, sa, b, sb, [](double u, double v) { return u > v ? 1.0 : 0.0; }));
  expect_tensor(y.pow(x), {2, 4, 3}, ref_binary(b, sb, a, sa, [](double u, double v) { return std::pow(u, v); }),
                1e-12);
}

TEST(BroadcastTest, ZeroDimTensorAndScalarBroadcastToEveryElement) {
  std::vector<double> a = {1, 2, 3, 4, 5, 6};
  Tensor x = make(a, {2, 3}, kFloat32);
  expect_tensor(x * kiln::tensor(2.0), {2, 3}, map(a, [](double v) { return v * 2; }));
  expect_tensor(kiln::tensor(10.0) - x, {2, 3}, map(a, [](double v) { return 10 - v; }));
  expect_tensor(x + 0.5, {2, 3}, map(a, [](double v) { return v + 0.5; }));
  Tensor s = kiln::tensor(3.0) + kiln::tensor(4.0);
  expect_tensor<double>(s, {}, {7});
}

TEST(BroadcastTest, SizeOneDimsOnBothSides) {
  std::vector<double> a = {1, 2}, b = {10, 20, 30};  // [1, 2, 1] and [3, 1, 1]
  Tensor y = make(a, {1, 2, 1}, kInt64) * make(b, {3, 1, 1}, kInt64);
  expect_tensor(y, {3, 2, 1}, ref_binary(a, {1, 2, 1}, b, {3, 1, 1}, std::multiplies<double>()));
}

TEST(BroadcastTest, EmptyDimsBroadcastToEmptyResults) {
  Tensor y = kiln::zeros({0, 3}) + make({1, 2, 3}, {3}, kFloat32);
  expect_tensor<double>(y, {0, 3}, {});
  Tensor z = kiln::zeros({0}) * kiln::ones({1});
  expect_tensor<double>(z, {0}, {});
}

TEST(BroadcastTest, IncompatibleShapesAreAnErrorNamingBothShapes) {
  Tensor a = make({1, 2, 3}, {3}, kFloat32);
  Tensor b = make({1, 2, 3, 4}, {4}, kFloat32);
  Tensor c = kiln::zeros({2, 3});
  Tensor d = kiln::zeros({3, 2});
  EXPECT_KILN_ERROR(a + b, "add", "[3]", "[4]");
  EXPECT_KILN_ERROR(a.sub(b), "sub", "[3]", "[4]");
  EXPECT_KILN_ERROR(c * d, "mul", "[2, 3]", "[3, 2]");
  EXPECT_KILN_ERROR(c.div(d), "div", "[2, 3]", "[3, 2]");
  EXPECT_KILN_ERROR(c < d, "lt", "[2, 3]", "[3, 2]");
  EXPECT_KILN_ERROR(kiln::maximum(a, b), "maximum", "[3]", "[4]");
  EXPECT_KILN_ERROR(kiln::pow(a, b), "pow", "[3]", "[4]");
}

// ---------------------------------------------------------------------------------------------
// Strided views as inputs.

TEST(ElementwiseViewTest, TransposedInputs) {
  std::vector<double> v = iota_values(6, 1);         // [2, 3]
  std::vector<double> w = {10, 20, 30, 40, 50, 60};  // [3, 2]
  Tensor x = make(v, {2, 3}, kFloat32).t();          // [3, 2], non-contiguous
  EXPECT_FALSE(x.is_contiguous());
  std::vector<double> xt = ref_transpose(v, 2, 3);
  expect_tensor(x.exp(), {3, 2}, map(xt, [](double u) { return std::exp(u); }));
  expect_tensor(x + make(w, {3, 2}, kFloat32), {3, 2}, zip(xt, w, std::plus<double>()));
  expect_tensor(x * make({2, 3}, {2}, kFloat32), {3, 2},
                ref_binary(xt, {3, 2}, {2, 3}, {2}, std::multiplies<double>()));
  // Both operands views of one base, laid out differently.
  Tensor sq = make(iota_values(9), {3, 3}, kInt64);
  std::vector<double> sqt = ref_transpose(iota_values(9), 3, 3);
  expect_tensor(sq - sq.t(), {3, 3}, zip(iota_values(9), sqt, std::minus<double>()));
  expect_tensor(sq.t() > sq, {3, 3}, zip(sqt, iota_values(9), [](double u, double z) { return u > z ? 1.0 : 0.0; }));
}

TEST(ElementwiseViewTest, PermutedThreeDimInput) {
  std::vector<double> v = iota_values(24);                     // [2, 3, 4]
  Tensor x = make(v, {2, 3, 4}, kFloat64).permute({2, 0, 1});  // [4, 2, 3]
  std::vector<double> want;
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) want.push_back(std::sqrt(v[(i * 3 + j) * 4 + k]));
  expect_tensor(x.sqrt(), {4, 2, 3}, want, 1e-12);
}

TEST(ElementwiseViewTest, SlicedInputsWithSteps) {
  std::vector<double> v = iota_values(20);  // [4, 5]
  Tensor x = make(v, {4, 5}, kFloat32);
  Tensor cols = x.slice(1, 1, 5, 2);  // columns 1 and 3: [4, 2]
  Tensor rows = x.slice(0, 1, 3);     // rows 1 and 2: [2, 5]
  std::vector<double> want_cols, want_rows;
  for (int i = 0; i < 4; ++i)
    for (int j = 1; j < 5; j += 2) want_cols.push_back(v[i * 5 + j] * 2 - 1);
  for (int i = 1; i < 3; ++i)
    for (int j = 0; j < 5; ++j) want_rows.push_back(-v[i * 5 + j]);
  expect_tensor(cols * 2 - 1, {4, 2}, want_cols);
  expect_tensor(-rows, {2, 5}, want_rows);
  // A slice against a select of the same base, broadcasting [4, 2] with [2].
  Tensor first_row_cols = x[0].slice(0, 0, 2);  // [0, 1]
  std::vector<double> want;
  for (int i = 0; i < 4; ++i)
    for (int j = 0; j < 2; ++j) want.push_back(v[i * 5 + 1 + 2 * j] + v[j]);
  expect_tensor(cols + first_row_cols, {4, 2}, want);
}

TEST(ElementwiseViewTest, ExpandedInputs) {
  std::vector<double> col = {1, 2, 3};
  Tensor e = make(col, {3, 1}, kInt32).expand({3, 4});
  std::vector<double> w = iota_values(12);
  std::vector<double> want;
  for (int i = 0; i < 3; ++i)
    for (int j = 0; j < 4; ++j) want.push_back(col[i] * w[i * 4 + j]);
  Tensor y = e * make(w, {3, 4}, kInt32);
  EXPECT_EQ(dtype_str(y), "int32");
  expect_tensor(y, {3, 4}, want);
  Tensor row = make({5, 6}, {2}, kFloat32).expand({3, 2});
  expect_tensor<double>(row.square(), {3, 2}, {25, 36, 25, 36, 25, 36});
}

TEST(ElementwiseViewTest, SlicedTransposedInputWithScalar) {
  std::vector<double> v = iota_values(12);                     // [3, 4]
  Tensor x = make(v, {3, 4}, kFloat64).t().slice(0, 1, 4, 2);  // rows 1, 3 of the [4, 3] transpose
  std::vector<double> want;
  for (int r = 1; r < 4; r += 2)
    for (int c = 0; c < 3; ++c) want.push_back(std::max(v[c * 4 + r], 5.0));
  expect_tensor(x.clamp(5), {2, 3}, want, 1e-12);
}

// ---------------------------------------------------------------------------------------------
// Errors.

TEST(ElementwiseErrorTest, SubtractingBoolTensorsIsAnError) {
  Tensor a = make({1, 0}, {2}, kBool);
  Tensor b = make({0, 1}, {2}, kBool);
  EXPECT_KILN_ERROR(a - b, "sub", "bool");
  EXPECT_KILN_ERROR(a.sub(b), "sub", "bool");
  EXPECT_KILN_ERROR(a - true, "sub", "bool");
  EXPECT_KILN_ERROR(true - a, "sub", "bool");
}

// torch.sub(bool, bool, alpha=2) raises the same error as bool - bool: PyTorch checks the operands'
// dtypes before scaling by alpha.
TEST(ElementwiseErrorTest, SubtractingBoolTensorsWithAlphaIsAnError) {
  Tensor a = make({1, 0}, {2}, kBool);
  Tensor b = make({0, 1}, {2}, kBool);
  EXPECT_KILN_ERROR((a.sub(b, 2)), "sub", "bool");
}

TEST(ElementwiseErrorTest, SubtractingAnIntegerFromABoolTensorIsAllowed) {
  Tensor y = make({1, 0}, {2}, kBool) - 1;  // int64, as in PyTorch
  EXPECT_EQ(dtype_str(y), "int64");
  expect_tensor<double>(y, {2}, {0, -1});
}

TEST(ElementwiseErrorTest, NegatingABoolTensorIsAnError) {
  Tensor a = make({1, 0}, {2}, kBool);
  EXPECT_KILN_ERROR(-a, "neg", "bool");
  EXPECT_KILN_ERROR(a.neg(), "neg", "bool");
  EXPECT_KILN_ERROR(kiln::neg(a), "neg", "bool");
}

}  // namespace
}  // namespace kiln
