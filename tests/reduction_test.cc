// Reductions (sum, mean, max/min, argmax/argmin) and softmax/log_softmax: values against
// hand-written reference loops on plain vectors, result dtypes as PyTorch's, views as inputs,
// and the errors users can hit.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <functional>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
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


std::string str(ScalarType t) { return std::string(dtype_name(t)); }
std::string dtype_str(const Tensor& t) { return str(t.dtype()); }


// torch.sum's dtype for a T input: bools and integers accumulate as int64.
template <typename T>
ScalarType sum_dtype() {
  return std::is_floating_point_v<T> ? dtype_of<T> : kInt64;
}


int64_t product(const Shape& shape) {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

int64_t normalized(int64_t dim, size_t rank) { return dim < 0 ? dim + static_cast<int64_t>(rank) : dim; }

// The shape after reducing `axes` (non-negative), dropped or kept as size 1.
Shape ref_reduced_shape(const Shape& shape, const std::vector<int64_t>& axes, bool keepdim) {
  Shape out;
  for (size_t i = 0; i < shape.size(); ++i) {
    bool reduced = false;
    for (int64_t a : axes) reduced = reduced || a == static_cast<int64_t>(i);
    if (!reduced)
      out.push_back(shape[i]);
    else if (keepdim)
      out.push_back(1);
  }
  return out;
}

// Folds `v` (row-major `shape`) over `axes` with `f` from `init`; results in row-major order of
// the remaining axes.
std::vector<double> ref_reduce(const std::vector<double>& v, const Shape& shape, const std::vector<int64_t>& axes,
                               double init, const std::function<double(double, double)>& f) {
  Shape kept = shape;
  for (int64_t a : axes) kept[a] = 1;
  std::vector<double> acc(static_cast<size_t>(product(kept)), init);
  for (int64_t flat = 0; flat < static_cast<int64_t>(v.size()); ++flat) {
    // Unravel `flat`, zero the reduced coordinates, ravel into `kept`.
    int64_t rest = flat, out = 0, stride = 1;
    for (size_t i = shape.size(); i-- > 0;) {
      int64_t coord = rest % shape[i];
      rest /= shape[i];
      if (kept[i] != 1) out += coord * stride;
      stride *= kept[i];
    }
    acc[out] = f(acc[out], v[flat]);
  }
  return acc;
}

std::vector<double> ref_sum(const std::vector<double>& v, const Shape& shape, const std::vector<int64_t>& axes) {
  return ref_reduce(v, shape, axes, 0.0, std::plus<double>());
}

// Views one axis of a row-major shape as lines: element k of line (o, i) is at (o * n + k) * inner + i.
struct Lines {
  int64_t outer = 1, n = 1, inner = 1;
  Lines(const Shape& shape, int64_t axis) {
    for (int64_t i = 0; i < axis; ++i) outer *= shape[i];
    n = shape[axis];
    for (size_t i = axis + 1; i < shape.size(); ++i) inner *= shape[i];
  }
  int64_t at(int64_t o, int64_t k, int64_t i) const { return (o * n + k) * inner + i; }
};

// torch.max/min(dim): the extreme of each line and the index of its first occurrence; NaN counts as
// the extreme, so the first NaN wins.
struct Extremes {
  std::vector<double> values, indices;
};
Extremes ref_extremes(const std::vector<double>& v, const Shape& shape, int64_t axis, bool is_max) {
  Lines l(shape, axis);
  Extremes r;
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t i = 0; i < l.inner; ++i) {
      double best = v[l.at(o, 0, i)];
      int64_t where = 0;
      for (int64_t k = 1; k < l.n && !std::isnan(best); ++k) {
        double x = v[l.at(o, k, i)];
        if (std::isnan(x) || (is_max ? x > best : x < best)) {
          best = x;
          where = k;
        }
      }
      r.values.push_back(best);
      r.indices.push_back(static_cast<double>(where));
    }
  return r;
}

enum class Norm { kSoftmax, kLogSoftmax };
std::vector<double> ref_softmax(const std::vector<double>& v, const Shape& shape, int64_t axis, Norm norm) {
  Lines l(shape, axis);
  std::vector<double> out(v.size());
  for (int64_t o = 0; o < l.outer; ++o)
    for (int64_t i = 0; i < l.inner; ++i) {
      double m = -kInf;
      for (int64_t k = 0; k < l.n; ++k) m = std::max(m, v[l.at(o, k, i)]);
      double total = 0;
      for (int64_t k = 0; k < l.n; ++k) total += std::exp(v[l.at(o, k, i)] - m);
      for (int64_t k = 0; k < l.n; ++k) {
        double shifted = v[l.at(o, k, i)] - m;
        out[l.at(o, k, i)] = norm == Norm::kSoftmax ? std::exp(shifted) / total : shifted - std::log(total);
      }
    }
  return out;
}

// 24 values for a [2, 3, 4] tensor that T holds exactly, with repeats so that lines see ties.
template <typename T>
std::vector<double> sample_values() {
  std::vector<double> v;
  for (int64_t i = 0; i < 24; ++i) {
    int64_t k = (i * 7 + 3) % 11;
    if constexpr (std::is_same_v<T, bool>)
      v.push_back(k % 3 == 0 ? 1 : 0);
    else if constexpr (std::is_integral_v<T>)
      v.push_back(static_cast<double>(k - 5));
    else
      v.push_back(static_cast<double>(k - 5) * 0.75 + 0.125);
  }
  return v;
}

const Shape kShape = {2, 3, 4};

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
// sum

TYPED_TEST(AllDtypesTest, SumOfAllElementsIsZeroDim) {
  using T = TypeParam;
  std::vector<double> v = sample_values<T>();
  Tensor x = make(v, kShape, dtype_of<T>);
  std::vector<double> want = ref_sum(v, kShape, {0, 1, 2});
  const std::vector<int64_t> all_dims;  // an empty list reduces every dim
  for (const Tensor& y : {x.sum(), kiln::sum(x), x.sum(all_dims)}) {
    EXPECT_EQ(dtype_str(y), str(sum_dtype<T>()));
    expect_tensor(y, {}, want, tol_for(sum_dtype<T>()));
  }
  Tensor kept = x.sum({}, /*keepdim=*/true);
  expect_tensor(kept, {1, 1, 1}, want, tol_for(sum_dtype<T>()));
}

TYPED_TEST(AllDtypesTest, SumOverEachSingleDimMatchesReference) {
  using T = TypeParam;
  std::vector<double> v = sample_values<T>();
  Tensor x = make(v, kShape, dtype_of<T>);
  for (int64_t dim : {0, 1, 2, -1, -2, -3}) {
    for (bool keepdim : {false, true}) {
      SCOPED_TRACE("dim " + std::to_string(dim) + (keepdim ? " keepdim" : ""));
      int64_t axis = normalized(dim, kShape.size());
      Tensor y = x.sum({dim}, keepdim);
      EXPECT_EQ(dtype_str(y), str(sum_dtype<T>()));
      expect_tensor(y, ref_reduced_shape(kShape, {axis}, keepdim), ref_sum(v, kShape, {axis}), tol_for(sum_dtype<T>()));
      expect_tensor(kiln::sum(x, {dim}, keepdim), ref_reduced_shape(kShape, {axis}, keepdim),
                    ref_sum(v, kShape, {axis}), tol_for(sum_dtype<T>()));
    }
  }
}

TYPED_TEST(AllDtypesTest, SumOverSeveralDimsIncludingNegativeOnes) {
  using T = TypeParam;
  std::vector<double> v = sample_values<T>();
  Tensor x = make(v, kShape, dtype_of<T>);
  struct Case {
    std::vector<int64_t> dims, axes;
  };
  for (const Case& c : std::vector<Case>{
           {{0, 2}, {0, 2}}, {{-1, 0}, {0, 2}}, {{1, -1}, {1, 2}}, {{2, 0, 1}, {0, 1, 2}}, {{-3, -2}, {0, 1}}}) {
    for (bool keepdim : {false, true}) {
      SCOPED_TRACE(::testing::PrintToString(c.dims) + (keepdim ? " keepdim" : ""));
      Tensor y = x.sum(c.dims, keepdim);
      EXPECT_EQ(dtype_str(y), str(sum_dtype<T>()));
      expect_tensor(y, ref_reduced_shape(kShape, c.axes, keepdim), ref_sum(v, kShape, c.axes), tol_for(sum_dtype<T>()));
    }
  }
}

TEST(SumTest, BoolInputCountsTrueElementsAsInt64) {
  Tensor x = make({1, 0, 1, 1, 0, 1}, {2, 3}, kBool);
  Tensor all = x.sum();
  EXPECT_EQ(dtype_str(all), "int64");
  expect_tensor<double>(all, {}, {4});
  Tensor rows = x.sum({1});
  EXPECT_EQ(dtype_str(rows), "int64");
  expect_tensor<double>(rows, {2}, {2, 2});
}

TEST(SumTest, Int32InputAccumulatesInInt64WithoutOverflow) {
  const double big = 2147483647;  // INT32_MAX
  Tensor x = make({big, big, big}, {3}, kInt32);
  Tensor y = x.sum();
  EXPECT_EQ(dtype_str(y), "int64");
  EXPECT_EQ(y.item<int64_t>(), int64_t{3} * 2147483647);
}

TEST(SumTest, DtypeArgumentCastsTheInputBeforeSumming) {
  Tensor i32 = make({1, 2, 3, 4}, {2, 2}, kInt32);
  Tensor a = i32.sum({0}, false, kFloat64);
  EXPECT_EQ(dtype_str(a), "float64");
  expect_tensor<double>(a, {2}, {4, 6}, 1e-12);
  Tensor b = i32.sum({}, false, kInt32);
  EXPECT_EQ(dtype_str(b), "int32");
  expect_tensor<double>(b, {}, {10});
  Tensor f = make({0.5, 1.25, -2.75}, {3}, kFloat32);
  Tensor c = f.sum({0}, true, kFloat64);
  EXPECT_EQ(dtype_str(c), "float64");
  expect_tensor<double>(c, {1}, {-1}, 1e-12);
  Tensor d = f.sum({}, false, kInt64);  // the cast truncates each element first: 0 + 1 - 2
  EXPECT_EQ(dtype_str(d), "int64");
  expect_tensor<double>(d, {}, {-1});
  Tensor e = make({1, 1, 0}, {3}, kBool).sum({0}, false, kFloat32);
  EXPECT_EQ(dtype_str(e), "float32");
  expect_tensor<double>(e, {}, {2});
}

TEST(SumTest, EmptyTensorsSumToZero) {
  Tensor empty = kiln::zeros({0, 3});
  expect_tensor<double>(empty.sum(), {}, {0});
  expect_tensor<double>(empty.sum({0}), {3}, {0, 0, 0});
  expect_tensor<double>(empty.sum({0}, true), {1, 3}, {0, 0, 0});
  expect_tensor<double>(empty.sum({1}), {0}, {});
  Tensor empty_int = kiln::zeros({0}, kInt32);
  EXPECT_EQ(dtype_str(empty_int.sum()), "int64");
  expect_tensor<double>(empty_int.sum(), {}, {0});
}

TEST(SumTest, ZeroDimTensorSumsToItself) {
  Tensor x = kiln::tensor(2.5, kFloat64);
  expect_tensor<double>(x.sum(), {}, {2.5});
  expect_tensor<double>(x.sum({0}), {}, {2.5});
  expect_tensor<double>(x.sum({-1}, true), {}, {2.5});
  Tensor i = kiln::tensor(7.0, kInt32);
  EXPECT_EQ(dtype_str(i.sum()), "int64");
  expect_tensor<double>(i.sum(), {}, {7});
}

TEST(SumTest, SizeOneDimsReduceToTheSameValues) {
  std::vector<double> v = {1, 2, 3};
  Tensor x = make(v, {1, 3, 1}, kFloat32);
  expect_tensor(x.sum({0}), {3, 1}, v);
  expect_tensor(x.sum({2}), {1, 3}, v);
  expect_tensor(x.sum({0, 2}), {3}, v);
  expect_tensor(x.sum({0, 2}, true), {1, 3, 1}, v);
  expect_tensor<double>(x.sum({1}), {1, 1}, {6});
}

// ---------------------------------------------------------------------------------------------
// mean

TYPED_TEST(FloatingDtypesTest, MeanOfAllElementsAndAlongDims) {
  using T = TypeParam;
  std::vector<double> v = sample_values<T>();
  Tensor x = make(v, kShape, dtype_of<T>);
  double tol = tol_for(dtype_of<T>);
  auto ref_mean = [&](const std::vector<int64_t>& axes) {
    int64_t count = 1;
    for (int64_t a : axes) count *= kShape[a];
    std::vector<double> s = ref_sum(v, kShape, axes);
    for (double& e : s) e /= static_cast<double>(count);
    return s;
  };
  const std::vector<int64_t> all_dims;  // an empty list reduces every dim
  for (const Tensor& y : {x.mean(), kiln::mean(x), x.mean(all_dims)}) {
    EXPECT_EQ(dtype_str(y), str(dtype_of<T>));
    expect_tensor(y, {}, ref_mean({0, 1, 2}), tol);
  }
  expect_tensor(x.mean({1}), {2, 4}, ref_mean({1}), tol);
  expect_tensor(x.mean({-1}, true), {2, 3, 1}, ref_mean({2}), tol);
  expect_tensor(kiln::mean(x, {0, -1}), {3}, ref_mean({0, 2}), tol);
  expect_tensor(x.mean({2, 0}, true), {1, 3, 1}, ref_mean({0, 2}), tol);
}

TEST(MeanTest, MeanOfEmptyTensorIsNaN) {
  std::vector<double> got = kiln::zeros({0}).mean().to_vector<double>();
  ASSERT_EQ(got.size(), 1u);
  EXPECT_TRUE(std::isnan(got[0]));
}

TEST(MeanTest, MeanOfZeroDimTensorIsItself) { expect_tensor<double>(kiln::tensor(-1.5).mean(), {}, {-1.5}); }

TEST(MeanTest, MeanOfIntegralTensorIsAnError) {
  EXPECT_KILN_ERROR(make({1, 2}, {2}, kInt64).mean(), "mean", "int64");
  EXPECT_KILN_ERROR(make({1, 2}, {2}, kInt32).mean({0}), "mean", "int32");
  EXPECT_KILN_ERROR(kiln::mean(make({1, 0}, {2}, kBool)), "mean", "bool");
}

// ---------------------------------------------------------------------------------------------
// max / min

TYPED_TEST(AllDtypesTest, MaxAndMinOfAllElements) {
  using T = TypeParam;
  std::vector<double> v = sample_values<T>();
  Tensor x = make(v, kShape, dtype_of<T>);
  Tensor hi = x.max(), lo = x.min();
  EXPECT_EQ(dtype_str(hi), str(dtype_of<T>));
  EXPECT_EQ(dtype_str(lo), str(dtype_of<T>));
  expect_tensor<double>(hi, {}, {*std::max_element(v.begin(), v.end())});
  expect_tensor<double>(lo, {}, {*std::min_element(v.begin(), v.end())});
}

TYPED_TEST(AllDtypesTest, MaxAndMinAlongADimReturnValuesAndFirstIndices) {
  using T = TypeParam;
  std::vector<double> v = sample_values<T>();
  Tensor x = make(v, kShape, dtype_of<T>);
  for (int64_t dim : {0, 1, 2, -1}) {
    for (bool keepdim : {false, true}) {
      SCOPED_TRACE("dim " + std::to_string(dim) + (keepdim ? " keepdim" : ""));
      int64_t axis = normalized(dim, kShape.size());
      Shape shape = ref_reduced_shape(kShape, {axis}, keepdim);
      for (bool is_max : {true, false}) {
        auto [values, indices] = is_max ? x.max(dim, keepdim) : x.min(dim, keepdim);
        Extremes want = ref_extremes(v, kShape, axis, is_max);
        EXPECT_EQ(dtype_str(values), str(dtype_of<T>));
        EXPECT_EQ(dtype_str(indices), "int64");
        expect_tensor(values, shape, want.values);
        expect_tensor(indices, shape, want.indices);
      }
    }
  }
}

TEST(MaxMinTest, TiesAlongADimPickTheFirstIndex) {
  Tensor x = make({3, 1, 3, 3, 5, 5, 0, 0, 0}, {3, 3}, kFloat32);
  auto [hi, hi_at] = x.max(1);
  auto [lo, lo_at] = x.min(1);
  expect_tensor<double>(hi, {3}, {3, 5, 0});
  expect_tensor<double>(hi_at, {3}, {0, 1, 0});
  expect_tensor<double>(lo, {3}, {1, 3, 0});
  expect_tensor<double>(lo_at, {3}, {1, 0, 0});
  auto [col_hi, col_hi_at] = x.max(0, true);
  expect_tensor<double>(col_hi, {1, 3}, {3, 5, 5});
  expect_tensor<double>(col_hi_at, {1, 3}, {0, 1, 1});
}

TEST(MaxMinTest, NaNPropagatesAndItsIndexIsReported) {
  Tensor x = make({1, kNaN, 3, kNaN, 2, 0, 4, 5, 6}, {3, 3}, kFloat64);
  EXPECT_TRUE(std::isnan(x.max().item<double>()));
  EXPECT_TRUE(std::isnan(x.min().item<double>()));
  auto [hi, hi_at] = x.max(1);
  std::vector<double> hv = hi.to_vector<double>();
  EXPECT_TRUE(std::isnan(hv[0]));
  EXPECT_TRUE(std::isnan(hv[1]));
  EXPECT_EQ(hv[2], 6);
  expect_tensor<double>(hi_at, {3}, {1, 0, 2});
  auto [lo, lo_at] = x.min(0);
  std::vector<double> lv = lo.to_vector<double>();
  EXPECT_TRUE(std::isnan(lv[0]));
  EXPECT_TRUE(std::isnan(lv[1]));
  EXPECT_EQ(lv[2], 0);
  expect_tensor<double>(lo_at, {3}, {1, 0, 1});
}

TEST(MaxMinTest, ZeroDimTensorIsItsOwnExtremeAtIndexZero) {
  Tensor x = kiln::tensor(4.5);
  expect_tensor<double>(x.max(), {}, {4.5});
  expect_tensor<double>(x.min(), {}, {4.5});
  auto [value, index] = x.max(0);
  expect_tensor<double>(value, {}, {4.5});
  EXPECT_EQ(dtype_str(index), "int64");
  expect_tensor<double>(index, {}, {0});
}

TEST(MaxMinTest, AlongANonEmptyDimOfATensorWithAnEmptyDimGivesAnEmptyResult) {
  Tensor x = kiln::zeros({0, 3});
  auto [values, indices] = x.max(1);
  expect_tensor<double>(values, {0}, {});
  expect_tensor<double>(indices, {0}, {});
}

// ---------------------------------------------------------------------------------------------
// argmax / argmin

TYPED_TEST(NumericDtypesTest, ArgmaxAndArgminWithoutDimReturnTheFlatIndex) {
  using T = TypeParam;
  std::vector<double> v = sample_values<T>();
  Tensor x = make(v, kShape, dtype_of<T>);
  int64_t hi = std::max_element(v.begin(), v.end()) - v.begin();  // first of the largest
  int64_t lo = std::min_element(v.begin(), v.end()) - v.begin();
  EXPECT_EQ(dtype_str(x.argmax()), "int64");
  expect_tensor<double>(x.argmax(), {}, {static_cast<double>(hi)});
  expect_tensor<double>(x.argmin(), {}, {static_cast<double>(lo)});
}

// With no dim the input is flattened; keepdim then keeps every dim with size 1 (PyTorch >= 1.12).
TEST(ArgmaxTest, KeepdimWithoutDimKeepsEveryDimAsSizeOne) {
  Tensor x = make({3, 9, 1, 4, 9, 2}, {2, 3}, kFloat32);
  expect_tensor<double>(x.argmax(std::nullopt, true), {1, 1}, {1});
  expect_tensor<double>(x.argmin(std::nullopt, true), {1, 1}, {2});
}

TYPED_TEST(NumericDtypesTest, ArgmaxAndArgminAlongADimMatchMaxAndMinIndices) {
  using T = TypeParam;
  std::vector<double> v = sample_values<T>();
  Tensor x = make(v, kShape, dtype_of<T>);
  for (int64_t dim : {0, 1, 2, -2}) {
    for (bool keepdim : {false, true}) {
      SCOPED_TRACE("dim " + std::to_string(dim) + (keepdim ? " keepdim" : ""));
      int64_t axis = normalized(dim, kShape.size());
      Shape shape = ref_reduced_shape(kShape, {axis}, keepdim);
      Tensor hi = x.argmax(dim, keepdim), lo = x.argmin(dim, keepdim);
      EXPECT_EQ(dtype_str(hi), "int64");
      expect_tensor(hi, shape, ref_extremes(v, kShape, axis, true).indices);
      expect_tensor(lo, shape, ref_extremes(v, kShape, axis, false).indices);
    }
  }
}

TEST(ArgmaxTest, TiesPickTheFirstIndex) {
  Tensor x = make({1, 7, 7, 0, 0, 7}, {2, 3}, kInt64);
  expect_tensor<double>(x.argmax(), {}, {1});
  expect_tensor<double>(x.argmin(), {}, {3});
  expect_tensor<double>(x.argmax(1), {2}, {1, 2});
  expect_tensor<double>(x.argmin(1), {2}, {0, 0});
  expect_tensor<double>(x.argmax(0), {3}, {0, 0, 0});
}

TEST(ArgmaxTest, NaNCountsAsTheExtreme) {
  Tensor x = make({1, 5, kNaN, 2, kNaN, 0}, {2, 3}, kFloat32);
  expect_tensor<double>(x.argmax(), {}, {2});
  expect_tensor<double>(x.argmin(), {}, {2});
  expect_tensor<double>(x.argmax(1), {2}, {2, 1});
  expect_tensor<double>(x.argmin(0), {3}, {0, 1, 0});
}

TEST(ArgmaxTest, ZeroDimTensorHasIndexZero) {
  Tensor x = kiln::tensor(3.0);
  expect_tensor<double>(x.argmax(), {}, {0});
  expect_tensor<double>(x.argmin(0), {}, {0});
  expect_tensor<double>(x.argmax(-1, true), {}, {0});
}

TEST(ArgmaxTest, SizeOneDimGivesIndexZero) {
  Tensor x = make({4, 2, 9}, {3, 1}, kFloat32);
  expect_tensor<double>(x.argmax(1), {3}, {0, 0, 0});
  expect_tensor<double>(x.argmax(1, true), {3, 1}, {0, 0, 0});
  expect_tensor<double>(x.argmax(0, true), {1, 1}, {2});
}

// argmax/argmin run inside fused kernels: rows (the reduced axis contiguous) and columns (the
// reduced axis strided, which the CPU code generator vectorizes across outer points), with NaN,
// infinities and ties, after an elementwise op that fuses into the same kernel.
TEST(ArgmaxTest, FusedRowsAndColumnsAgreeWithTheDefinition) {
  const Shape shape = {37, 19};
  std::vector<double> v;
  for (int i = 0; i < 37 * 19; ++i) v.push_back(static_cast<double>((i * 7919) % 23) - 11);
  for (int j = 0; j < 19; ++j) v[5 * 19 + j] = -kInf;  // an all -inf row: position 0
  v[3 * 19 + 4] = kNaN, v[3 * 19 + 9] = kNaN;         // the first NaN wins
  v[10 * 19 + 2] = kInf, v[20 * 19 + 2] = kInf;      // tied infinities in one column
  for (int i = 0; i < 37; ++i) v[i * 19 + 17] = 1;   // a constant column: position 0
  std::vector<double> doubled;
  for (double x : v) doubled.push_back(2 * x + 1);
  for (ScalarType t : {kFloat32, kFloat64}) {
    Tensor x = make(v, shape, t) * 2 + 1;
    for (int64_t axis : {0, 1}) {
      expect_tensor(x.argmax(axis), {axis ? 37 : 19}, ref_extremes(doubled, shape, axis, true).indices);
      expect_tensor(x.argmin(axis), {axis ? 37 : 19}, ref_extremes(doubled, shape, axis, false).indices);
      auto [values, indices] = x.max(axis, true);
      Extremes want = ref_extremes(doubled, shape, axis, true);
      expect_tensor(values, {axis ? 37 : 1, axis ? 1 : 19}, want.values);
      expect_tensor(indices, {axis ? 37 : 1, axis ? 1 : 19}, want.indices);
    }
  }
  std::vector<double> ints, bools;
  for (double x : v) ints.push_back(std::isfinite(x) ? x : 0), bools.push_back(std::isfinite(x) && x > 3);
  for (int64_t axis : {0, 1}) {
    expect_tensor(make(ints, shape, kInt32).argmax(axis), {axis ? 37 : 19}, ref_extremes(ints, shape, axis, true).indices);
    expect_tensor(make(bools, shape, kBool).argmin(axis), {axis ? 37 : 19}, ref_extremes(bools, shape, axis, false).indices);
  }
}

// ---------------------------------------------------------------------------------------------
// softmax / log_softmax

template <typename T>
std::vector<double> softmax_inputs() {
  std::vector<double> v;
  for (int i = 0; i < 24; ++i) v.push_back(as<T>(std::sin(i * 0.7) * 3));
  return v;
}

TYPED_TEST(FloatingDtypesTest, SoftmaxOverEachDimMatchesAHandLoopAndSumsToOne) {
  using T = TypeParam;
  std::vector<double> v = softmax_inputs<T>();
  Tensor x = make(v, kShape, dtype_of<T>);
  for (int64_t dim : {0, 1, 2, -1, -3}) {
    SCOPED_TRACE("dim " + std::to_string(dim));
    int64_t axis = normalized(dim, kShape.size());
    Tensor y = kiln::softmax(x, dim);
    EXPECT_EQ(dtype_str(y), str(dtype_of<T>));
    expect_tensor(y, kShape, ref_softmax(v, kShape, axis, Norm::kSoftmax), tol_for(dtype_of<T>));
    // Each line along `axis` sums to 1 (summed here, not by Kiln).
    std::vector<double> got = y.to_vector<double>();
    for (double total : ref_sum(got, kShape, {axis})) EXPECT_NEAR(total, 1.0, 1e-6);
  }
}

TYPED_TEST(FloatingDtypesTest, LogSoftmaxOverEachDimMatchesAHandLoop) {
  using T = TypeParam;
  std::vector<double> v = softmax_inputs<T>();
  Tensor x = make(v, kShape, dtype_of<T>);
  for (int64_t dim : {0, 1, 2, -2}) {
    SCOPED_TRACE("dim " + std::to_string(dim));
    int64_t axis = normalized(dim, kShape.size());
    Tensor y = kiln::log_softmax(x, dim);
    EXPECT_EQ(dtype_str(y), str(dtype_of<T>));
    expect_tensor(y, kShape, ref_softmax(v, kShape, axis, Norm::kLogSoftmax), tol_for(dtype_of<T>));
    std::vector<double> got = y.to_vector<double>();
    for (double& e : got) e = std::exp(e);
    for (double total : ref_sum(got, kShape, {axis})) EXPECT_NEAR(total, 1.0, 1e-6);
  }
}

TEST(SoftmaxTest, LargeInputsDoNotOverflow) {
  Tensor x = make({1000, 1001, 1002, -1000, -1001, -1002}, {2, 3}, kFloat32);
  double z = 1 + std::exp(-1.0) + std::exp(-2.0);
  std::vector<double> want = {std::exp(-2.0) / z, std::exp(-1.0) / z, 1 / z, 1 / z,
                              std::exp(-1.0) / z, std::exp(-2.0) / z};
  expect_tensor(kiln::softmax(x, 1), {2, 3}, want);
  std::vector<double> want_log;
  for (double p : want) want_log.push_back(std::log(p));
  expect_tensor(kiln::log_softmax(x, 1), {2, 3}, want_log);
  // Along dim 0 the pairs differ by 2000..2004: softmax saturates to exactly 1 and 0 without NaN.
  expect_tensor<double>(kiln::softmax(x, 0), {2, 3}, {1, 1, 1, 0, 0, 0});
  expect_tensor<double>(kiln::log_softmax(x, 0), {2, 3}, {0, 0, 0, -2000, -2002, -2004});
}

TEST(SoftmaxTest, NegativeInfinityGetsZeroProbability) {
  Tensor x = make({-kInf, 0, 0}, {3}, kFloat32);
  expect_tensor<double>(kiln::softmax(x, 0), {3}, {0, 0.5, 0.5});
  std::vector<double> got = kiln::log_softmax(x, 0).to_vector<double>();
  EXPECT_EQ(got[0], -kInf);
  EXPECT_NEAR(got[1], std::log(0.5), 1e-6);
  EXPECT_NEAR(got[2], std::log(0.5), 1e-6);
}

TEST(SoftmaxTest, DtypeArgumentSetsTheComputeAndResultDtype) {
  std::vector<double> v = {1, 2, 3, 4};
  Tensor i = make(v, {2, 2}, kInt64);
  Tensor y = kiln::softmax(i, 1, kFloat64);
  EXPECT_EQ(dtype_str(y), "float64");
  expect_tensor(y, {2, 2}, ref_softmax(v, {2, 2}, 1, Norm::kSoftmax), 1e-12);
  Tensor f = make(v, {2, 2}, kFloat32);
  Tensor z = kiln::log_softmax(f, 0, kFloat64);
  EXPECT_EQ(dtype_str(z), "float64");
  expect_tensor(z, {2, 2}, ref_softmax(v, {2, 2}, 0, Norm::kLogSoftmax), 1e-12);
}

TEST(SoftmaxTest, ZeroDimAndSizeOneDims) {
  expect_tensor<double>(kiln::softmax(kiln::tensor(5.0), 0), {}, {1});
  expect_tensor<double>(kiln::log_softmax(kiln::tensor(5.0), -1), {}, {0});
  Tensor x = make({3, -7}, {2, 1}, kFloat32);
  expect_tensor<double>(kiln::softmax(x, 1), {2, 1}, {1, 1});
  expect_tensor<double>(kiln::log_softmax(x, 1), {2, 1}, {0, 0});
}

// ---------------------------------------------------------------------------------------------
// Views as inputs.

TEST(ReductionViewTest, TransposedInput) {
  std::vector<double> v = {1, 9, 2, 8, 3, 7};  // [2, 3]
  Tensor x = make(v, {2, 3}, kFloat32).t();    // [3, 2]: rows {1, 8}, {9, 3}, {2, 7}
  std::vector<double> vt = {1, 8, 9, 3, 2, 7};
  expect_tensor(x.sum({1}), {3}, ref_sum(vt, {3, 2}, {1}));
  expect_tensor(x.sum({0}, true), {1, 2}, ref_sum(vt, {3, 2}, {0}));
  auto [values, indices] = x.max(1);
  Extremes want = ref_extremes(vt, {3, 2}, 1, true);
  expect_tensor(values, {3}, want.values);
  expect_tensor(indices, {3}, want.indices);
  expect_tensor<double>(x.argmax(), {}, {2});  // a flat index in the view's own row-major order
  expect_tensor<double>(x.argmin(0), {2}, {0, 1});
  expect_tensor(kiln::softmax(x, 1), {3, 2}, ref_softmax(vt, {3, 2}, 1, Norm::kSoftmax));
  expect_tensor<double>(x.mean({0}), {2}, {4, 6});
}

TEST(ReductionViewTest, PermutedThreeDimInput) {
  std::vector<double> v = sample_values<int64_t>();          // [2, 3, 4]
  Tensor x = make(v, {2, 3, 4}, kInt64).permute({2, 0, 1});  // [4, 2, 3]
  std::vector<double> p;
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j) p.push_back(v[(i * 3 + j) * 4 + k]);
  Shape ps = {4, 2, 3};
  expect_tensor(x.sum({0, 2}), {2}, ref_sum(p, ps, {0, 2}));
  expect_tensor(x.argmax(-1), {4, 2}, ref_extremes(p, ps, 2, true).indices);
  expect_tensor(std::get<0>(x.min(0, true)), {1, 2, 3}, ref_extremes(p, ps, 0, false).values);
}

TEST(ReductionViewTest, SlicedInputWithStep) {
  std::vector<double> v;
  for (int i = 0; i < 20; ++i) v.push_back((i * 13) % 7);
  Tensor x = make(v, {4, 5}, kFloat64).slice(1, 0, 5, 2).slice(0, 1, 4);  // rows 1..3, cols 0, 2, 4
  std::vector<double> s;
  for (int i = 1; i < 4; ++i)
    for (int j = 0; j < 5; j += 2) s.push_back(v[i * 5 + j]);
  Shape ss = {3, 3};
  expect_tensor(x.sum(), {}, ref_sum(s, ss, {0, 1}), 1e-12);
  expect_tensor(x.sum({0}), {3}, ref_sum(s, ss, {0}), 1e-12);
  expect_tensor(x.argmin(1), {3}, ref_extremes(s, ss, 1, false).indices);
  expect_tensor(kiln::log_softmax(x, 0), ss, ref_softmax(s, ss, 0, Norm::kLogSoftmax), 1e-12);
  expect_tensor<double>(x.max(), {}, {*std::max_element(s.begin(), s.end())});
}

TEST(ReductionViewTest, ExpandedInputCountsEachRepeat) {
  Tensor x = make({1, 2, 3}, {3, 1}, kInt32).expand({3, 4});
  expect_tensor<double>(x.sum(), {}, {24});
  expect_tensor<double>(x.sum({1}), {3}, {4, 8, 12});
  expect_tensor<double>(x.sum({0}), {4}, {6, 6, 6, 6});
  expect_tensor<double>(x.argmax(), {}, {8});  // the first element of the last row
  expect_tensor<double>(x.argmax(1), {3}, {0, 0, 0});
}

TEST(ReductionViewTest, SelectedRow) {
  Tensor x = make({5, 1, 4, 2, 8, 3}, {2, 3}, kFloat32);
  expect_tensor<double>(x[1].sum(), {}, {13});
  expect_tensor<double>(x[1].argmax(), {}, {1});
  expect_tensor<double>(x.select(1, 2).max(), {}, {4});
}

// ---------------------------------------------------------------------------------------------
// Errors.

TEST(ReductionErrorTest, OutOfRangeDimIsAnErrorNamingTheDimAndShape) {
  Tensor x = kiln::zeros({2, 3});
  EXPECT_KILN_ERROR(x.sum({-5}), "sum", "-5", "[2, 3]");
  EXPECT_KILN_ERROR((x.sum({0, 2})), "sum", "[2, 3]");
  EXPECT_KILN_ERROR(kiln::sum(x, {-3}), "sum", "-3", "[2, 3]");
  EXPECT_KILN_ERROR(x.mean({-4}), "mean", "-4", "[2, 3]");
  EXPECT_KILN_ERROR(x.max(-3), "max", "-3", "[2, 3]");
  EXPECT_KILN_ERROR(x.min(-7), "min", "-7", "[2, 3]");
  EXPECT_KILN_ERROR(x.argmax(-3), "argmax", "-3", "[2, 3]");
  EXPECT_KILN_ERROR(x.argmin(-6), "argmin", "-6", "[2, 3]");
  EXPECT_KILN_ERROR(kiln::softmax(x, -3), "softmax", "-3", "[2, 3]");
  EXPECT_KILN_ERROR(kiln::log_softmax(x, -9), "log_softmax", "-9", "[2, 3]");
  EXPECT_KILN_ERROR(kiln::tensor(1.0).sum({-2}), "sum", "-2", "[]");
}

TEST(ReductionErrorTest, RepeatedDimsAreAnError) {
  Tensor x = kiln::zeros({2, 3, 4});
  EXPECT_KILN_ERROR((x.sum({0, 0})), "sum", "multiple times");
  EXPECT_KILN_ERROR((x.sum({1, -2})), "sum", "multiple times");
  EXPECT_KILN_ERROR((x.mean({2, 0, -1})), "mean", "multiple times");
}

TEST(ReductionErrorTest, MaxAndMinOfEmptyTensorAreErrors) {
  Tensor empty = kiln::zeros({0, 3});
  EXPECT_KILN_ERROR(empty.max(), "max", "[0, 3]");
  EXPECT_KILN_ERROR(empty.min(), "min", "[0, 3]");
  EXPECT_KILN_ERROR(empty.max(0), "max", "[0, 3]");
  EXPECT_KILN_ERROR((empty.min(0, true)), "min", "[0, 3]");
  EXPECT_KILN_ERROR(empty.argmax(), "argmax");
  EXPECT_KILN_ERROR(empty.argmin(0), "argmin", "[0, 3]");
}

TEST(ReductionErrorTest, SoftmaxOfIntegralTensorIsAnError) {
  Tensor i = make({1, 2, 3}, {3}, kInt64);
  EXPECT_KILN_ERROR(kiln::softmax(i, 0), "softmax", "int64");
  EXPECT_KILN_ERROR(kiln::log_softmax(i, 0), "log_softmax", "int64");
  EXPECT_KILN_ERROR(kiln::softmax(make({1, 0}, {2}, kBool), 0), "softmax", "bool");
  EXPECT_KILN_ERROR(kiln::softmax(make({1, 2}, {2}, kFloat32), 0, kInt32), "softmax", "int32");
}

}  // namespace
}  // namespace kiln
