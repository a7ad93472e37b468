// Shared helpers for Kiln's tests.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>
#include <type_traits>
#include <vector>

#include "kiln/kiln.h"

namespace kiln::testing {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
inline constexpr double kInf = std::numeric_limits<double>::infinity();

// Typed-test fixtures over the dtypes an op accepts (TYPED_TEST_SUITE(AllDtypesTest, AllDtypes)).
using AllDtypes = ::testing::Types<bool, int32_t, int64_t, float, double>;
using NumericDtypes = ::testing::Types<int32_t, int64_t, float, double>;
using FloatingDtypes = ::testing::Types<float, double>;
template <typename T>
class AllDtypesTest : public ::testing::Test {};
template <typename T>
class NumericDtypesTest : public ::testing::Test {};
template <typename T>
class FloatingDtypesTest : public ::testing::Test {};

// `v` as a value of T would hold it (bools: nonzero is true), widened back to double.
template <typename T>
double as(double v) {
  if constexpr (std::is_same_v<T, bool>)
    return v != 0 ? 1.0 : 0.0;
  else
    return static_cast<double>(static_cast<T>(v));
}
template <typename T>
std::vector<double> as(const std::vector<double>& v) {
  std::vector<double> out;
  for (double x : v) out.push_back(as<T>(x));
  return out;
}

// Relative tolerance for comparing a dtype's results with hand-computed doubles.
inline double tol_for(ScalarType t) { return t == kFloat64 ? 1e-12 : 1e-6; }

// The tensor's values as doubles, row-major.
inline std::vector<double> values(const Tensor& t) {
  Tensor d = t.to(kFloat64).contiguous();
  return std::vector<double>(d.data_ptr<double>(), d.data_ptr<double>() + d.numel());
}

// Each of `got` within tol * (1 + |want|) of `want`.
inline void expect_near(const std::vector<double>& got, const std::vector<double>& want, double tol) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], tol * (1 + std::abs(want[i]))) << "at " << i;
}

// A tensor of `shape` holding `values` (row-major) converted to `dtype`.
inline Tensor make(const std::vector<double>& values, const Shape& shape, ScalarType dtype) {
  return kiln::tensor(values, kiln::dtype(dtype)).reshape(shape);
}

// A float64 leaf that requires grad: standard normal values, or uniform on [0.5, 2) for ops
// defined on positive inputs only.
inline Tensor random_leaf(const Shape& shape, bool positive = false) {
  Tensor t = positive ? kiln::rand(shape, kiln::dtype(kFloat64)) * 1.5 + 0.5 : kiln::randn(shape, kiln::dtype(kFloat64));
  return t.eval().clone().requires_grad_();
}

// A differentiable function of inputs of the given shapes, for parameterized gradient tests;
// `positive` asks for inputs in [0.5, 2).
struct GradCase {
  std::string name;
  std::vector<Shape> shapes;
  std::function<Tensor(const std::vector<Tensor>&)> fn;
  bool positive = false;
  friend void PrintTo(const GradCase& c, std::ostream* os) { *os << c.name; }
};
inline std::string grad_case_name(const ::testing::TestParamInfo<GradCase>& info) { return info.param.name; }

// Asserts `t` has `shape` and elementwise equals `expected` (within `tol` relative+absolute
// for floating tensors, exactly otherwise). NaNs must match NaNs, infinities the same infinity.
template <typename T>
void expect_tensor(const Tensor& t, const Shape& shape, const std::vector<T>& expected, double tol = 1e-6) {
  ASSERT_EQ(t.sizes(), shape);
  std::vector<double> got = t.to_vector<double>();
  ASSERT_EQ(got.size(), expected.size());
  for (size_t i = 0; i < got.size(); ++i) {
    double want = static_cast<double>(expected[i]);
    if (std::isnan(want)) {
      EXPECT_TRUE(std::isnan(got[i])) << "at flat index " << i;
    } else if (t.is_floating_point() && std::isfinite(want)) {
      EXPECT_NEAR(got[i], want, tol * (1 + std::fabs(want))) << "at flat index " << i;
    } else {
      EXPECT_EQ(got[i], want) << "at flat index " << i;
    }
  }
}

// The message of the kiln::Error `f` throws (for errors with no user line to check, or several
// checks of one message); fails the test if it throws none.
template <typename F>
std::string error_of(F&& f) {
  try {
    f();
  } catch (const kiln::Error& e) {
    return e.what();
  }
  ADD_FAILURE() << "no kiln::Error";
  return "";
}

// Runs `stmt` and checks that it throws kiln::Error whose message names `op`, every string in
// `mentions` (shapes, values) and the caller's file:line.
#define EXPECT_KILN_ERROR(stmt, op, ...)                                                          \
  do {                                                                                            \
    const std::string kiln_where = std::string(__FILE__) + ":" + std::to_string(__LINE__);       \
    try {                                                                                         \
      stmt;                                                                                       \
      ADD_FAILURE() << "expected kiln::Error from: " #stmt;                                       \
    } catch (const kiln::Error& e) {                                                              \
      std::string msg = e.what();                                                                 \
      EXPECT_EQ(msg.rfind(std::string(op) + ":", 0), 0u) << msg;                                 \
      EXPECT_NE(msg.find(kiln_where), std::string::npos) << msg << "\nexpected location " << kiln_where; \
      for (const std::string& m : std::vector<std::string>{__VA_ARGS__})                          \
        EXPECT_NE(msg.find(m), std::string::npos) << msg << "\nexpected mention of " << m;        \
    }                                                                                             \
  } while (0)

}  // namespace kiln::testing
