// matmul and mm: torch.matmul's rules for 1-D operands and batch broadcasting, checked against a
// naive triple loop that accumulates in double.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <functional>
#include <vector>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using testing::expect_tensor;

using Matrix = std::function<double(int64_t, int64_t)>;  // element (row, col) of an operand

// C = A B for an m x k matrix A and a k x n matrix B, row-major, accumulated in double.
std::vector<double> naive_mm(int64_t m, int64_t k, int64_t n, const Matrix& a, const Matrix& b) {
  std::vector<double> c;
  for (int64_t i = 0; i < m; ++i) {
    for (int64_t j = 0; j < n; ++j) {
      double acc = 0;
      for (int64_t q = 0; q < k; ++q) acc += a(i, q) * b(q, j);
      c.push_back(acc);
    }
  }
  return c;
}

// Element (i, j) of matrix number `batch` in a row-major stack of rows x cols matrices.
Matrix in_stack(const std::vector<double>& flat, int64_t batch, int64_t rows, int64_t cols) {
  return [&flat, batch, rows, cols](int64_t i, int64_t j) { return flat[(batch * rows + i) * cols + j]; };
}

void append(std::vector<double>& to, const std::vector<double>& from) { to.insert(to.end(), from.begin(), from.end()); }

// Float32 results are compared with tolerance 1e-5 relative+absolute: with |entries| < 4 and
// k <= 8, the rounding error of a float32 dot product is below k * 2^-24 * sum|a||b| < 1e-5.
constexpr double kFloat32Tol = 1e-5;

// ---------------------------------------------------------------------------------------------
// Every dtype, on integer-valued inputs that every dtype represents exactly

template <typename T>
class MatmulDtypeTest : public ::testing::Test {
 protected:
  // A tensor of `shape` holding small integers in [-8, 8] that vary from element to element.
  static Tensor make(const Shape& shape, int64_t salt) {
    std::vector<double> v;
    for (int64_t i = 0; i < numel(shape); ++i) v.push_back(static_cast<double>((i * 37 + salt * 11) % 17 - 8));
    return tensor(v, dtype(dtype_of<T>)).reshape(shape);
  }
};

using MatmulDtypes = ::testing::Types<int32_t, int64_t, float, double>;
TYPED_TEST_SUITE(MatmulDtypeTest, MatmulDtypes);

TYPED_TEST(MatmulDtypeTest, DotOfTwoVectorsIsZeroDim) {
  Tensor a = this->make({5}, 1);
  Tensor b = this->make({5}, 2);
  Tensor c = matmul(a, b);
  EXPECT_EQ(c.dtype(), dtype_of<TypeParam>);
  EXPECT_EQ(c.dim(), 0);
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  double want = 0;
  for (size_t i = 0; i < x.size(); ++i) want += x[i] * y[i];
  expect_tensor<double>(c, {}, {want});
}

TYPED_TEST(MatmulDtypeTest, MatrixTimesVector) {
  Tensor a = this->make({3, 4}, 1);
  Tensor v = this->make({4}, 2);
  std::vector<double> x = a.to_vector<double>(), y = v.to_vector<double>();
  std::vector<double> want = naive_mm(3, 4, 1, in_stack(x, 0, 3, 4), in_stack(y, 0, 4, 1));
  Tensor c = matmul(a, v);
  EXPECT_EQ(c.dtype(), dtype_of<TypeParam>);
  expect_tensor<double>(c, {3}, want);
}

TYPED_TEST(MatmulDtypeTest, VectorTimesMatrix) {
  Tensor v = this->make({4}, 3);
  Tensor b = this->make({4, 2}, 4);
  std::vector<double> x = v.to_vector<double>(), y = b.to_vector<double>();
  expect_tensor<double>(matmul(v, b), {2}, naive_mm(1, 4, 2, in_stack(x, 0, 1, 4), in_stack(y, 0, 4, 2)));
}

TYPED_TEST(MatmulDtypeTest, MatrixTimesMatrix) {
  Tensor a = this->make({3, 4}, 5);
  Tensor b = this->make({4, 5}, 6);
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  std::vector<double> want = naive_mm(3, 4, 5, in_stack(x, 0, 3, 4), in_stack(y, 0, 4, 5));
  expect_tensor<double>(matmul(a, b), {3, 5}, want);
  expect_tensor<double>(mm(a, b), {3, 5}, want);
}

TYPED_TEST(MatmulDtypeTest, Batched) {
  Tensor a = this->make({2, 3, 4}, 7);
  Tensor b = this->make({2, 4, 2}, 8);
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>(), want;
  for (int64_t p = 0; p < 2; ++p) append(want, naive_mm(3, 4, 2, in_stack(x, p, 3, 4), in_stack(y, p, 4, 2)));
  Tensor c = matmul(a, b);
  EXPECT_EQ(c.dtype(), dtype_of<TypeParam>);
  expect_tensor<double>(c, {2, 3, 2}, want);
}

TYPED_TEST(MatmulDtypeTest, TransposedOperands) {
  Tensor a = this->make({4, 3}, 9).t();   // [3, 4], strides [1, 3]
  Tensor b = this->make({5, 4}, 10).t();  // [4, 5], strides [1, 4]
  ASSERT_FALSE(a.is_contiguous());
  std::vector<double> x = this->make({4, 3}, 9).template to_vector<double>();
  std::vector<double> y = this->make({5, 4}, 10).template to_vector<double>();
  // a(i, q) = x[q][i], b(q, j) = y[j][q]
  std::vector<double> want = naive_mm(
      3, 4, 5, [&](int64_t i, int64_t q) { return x[q * 3 + i]; }, [&](int64_t q, int64_t j) { return y[j * 4 + q]; });
  expect_tensor<double>(matmul(a, b), {3, 5}, want);
  expect_tensor<double>(a.mm(b), {3, 5}, want);
}

// ---------------------------------------------------------------------------------------------
// Shapes and broadcasting (float32 and float64 random inputs)

TEST(MatmulTest, DotOfFloatVectors) {
  manual_seed(1);
  Tensor a = randn({7});
  Tensor b = randn({7});
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  double want = 0;
  for (size_t i = 0; i < x.size(); ++i) want += x[i] * y[i];
  Tensor c = a.matmul(b);
  EXPECT_EQ(c.dim(), 0);
  EXPECT_EQ(c.dtype(), kFloat32);
  EXPECT_NEAR(c.item<double>(), want, kFloat32Tol * (1 + std::fabs(want)));
}

TEST(MatmulTest, Float64MatrixTimesMatrix) {
  manual_seed(2);
  Tensor a = randn({6, 8}, dtype(kFloat64));
  Tensor b = randn({8, 3}, dtype(kFloat64));
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  Tensor c = matmul(a, b);
  EXPECT_EQ(c.dtype(), kFloat64);
  expect_tensor<double>(c, {6, 3}, naive_mm(6, 8, 3, in_stack(x, 0, 6, 8), in_stack(y, 0, 8, 3)), 1e-12);
}

TEST(MatmulTest, Float32BatchedTimesMatrixBroadcastsTheMatrix) {
  manual_seed(3);
  Tensor a = randn({2, 3, 4});
  Tensor b = randn({4, 5});
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>(), want;
  for (int64_t p = 0; p < 2; ++p) append(want, naive_mm(3, 4, 5, in_stack(x, p, 3, 4), in_stack(y, 0, 4, 5)));
  expect_tensor<double>(matmul(a, b), {2, 3, 5}, want, kFloat32Tol);
}

TEST(MatmulTest, Float32MatrixTimesBatchedBroadcastsTheMatrix) {
  manual_seed(4);
  Tensor a = randn({3, 4});
  Tensor b = randn({2, 4, 5});
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>(), want;
  for (int64_t p = 0; p < 2; ++p) append(want, naive_mm(3, 4, 5, in_stack(x, 0, 3, 4), in_stack(y, p, 4, 5)));
  expect_tensor<double>(matmul(a, b), {2, 3, 5}, want, kFloat32Tol);
}

TEST(MatmulTest, VectorTimesBatchedDropsTheRowDim) {
  manual_seed(5);
  Tensor v = randn({4});
  Tensor b = randn({2, 4, 3});
  std::vector<double> x = v.to_vector<double>(), y = b.to_vector<double>(), want;
  for (int64_t p = 0; p < 2; ++p) append(want, naive_mm(1, 4, 3, in_stack(x, 0, 1, 4), in_stack(y, p, 4, 3)));
  expect_tensor<double>(matmul(v, b), {2, 3}, want, kFloat32Tol);
}

TEST(MatmulTest, BatchedTimesVectorDropsTheColumnDim) {
  manual_seed(6);
  Tensor a = randn({2, 3, 4});
  Tensor v = randn({4});
  std::vector<double> x = a.to_vector<double>(), y = v.to_vector<double>(), want;
  for (int64_t p = 0; p < 2; ++p) append(want, naive_mm(3, 4, 1, in_stack(x, p, 3, 4), in_stack(y, 0, 4, 1)));
  expect_tensor<double>(matmul(a, v), {2, 3}, want, kFloat32Tol);
}

TEST(MatmulTest, BroadcastsBatchDims) {
  // [2, 1, 3, 4] x [5, 4, 2] -> [2, 5, 3, 2]: out[p][r] = a[p][0] x b[r].
  manual_seed(7);
  Tensor a = randn({2, 1, 3, 4});
  Tensor b = randn({5, 4, 2});
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>(), want;
  for (int64_t p = 0; p < 2; ++p)
    for (int64_t r = 0; r < 5; ++r) append(want, naive_mm(3, 4, 2, in_stack(x, p, 3, 4), in_stack(y, r, 4, 2)));
  Tensor c = matmul(a, b);
  EXPECT_EQ(c.sizes(), (Shape{2, 5, 3, 2}));
  expect_tensor<double>(c, {2, 5, 3, 2}, want, kFloat32Tol);
}

TEST(MatmulTest, BroadcastsSizeOneBatchDimsOnBothSides) {
  // [3, 1, 2, 4] x [1, 2, 4, 3] -> [3, 2, 2, 3]: out[p][r] = a[p][0] x b[0][r].
  manual_seed(8);
  Tensor a = randn({3, 1, 2, 4});
  Tensor b = randn({1, 2, 4, 3});
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>(), want;
  for (int64_t p = 0; p < 3; ++p)
    for (int64_t r = 0; r < 2; ++r) append(want, naive_mm(2, 4, 3, in_stack(x, p, 2, 4), in_stack(y, r, 4, 3)));
  expect_tensor<double>(matmul(a, b), {3, 2, 2, 3}, want, kFloat32Tol);
}

TEST(MatmulTest, OuterProductWhenInnerDimIsOne) {
  Tensor a = tensor({1.0, 2.0, 3.0}).reshape({3, 1});
  Tensor b = tensor({4.0, 5.0}).reshape({1, 2});
  expect_tensor<float>(matmul(a, b), {3, 2}, {4, 5, 8, 10, 12, 15});
}

TEST(MatmulTest, EmptyInnerDimGivesZeros) {
  Tensor c = matmul(zeros({3, 0}), zeros({0, 2}));
  expect_tensor<float>(c, {3, 2}, {0, 0, 0, 0, 0, 0});
  EXPECT_EQ(matmul(zeros({0, 4}), zeros({4, 2})).sizes(), (Shape{0, 2}));
}

TEST(MatmulTest, HandComputedProduct) {
  Tensor a = tensor({1, 2, 3, 4, 5, 6}).reshape({2, 3});
  Tensor b = tensor({7, 8, 9, 10, 11, 12}).reshape({3, 2});
  // [[1*7 + 2*9 + 3*11, 1*8 + 2*10 + 3*12], [4*7 + 5*9 + 6*11, 4*8 + 5*10 + 6*12]]
  expect_tensor<int64_t>(matmul(a, b), {2, 2}, {58, 64, 139, 154});
}

// ---------------------------------------------------------------------------------------------
// Non-contiguous operands

TEST(MatmulStridedTest, PermutedBatchedOperands) {
  manual_seed(9);
  Tensor xa = randn({4, 2, 3});  // a = xa.permute({1, 2, 0}): [2, 3, 4], a[p][i][q] = xa[q][p][i]
  Tensor xb = randn({2, 5, 4});  // b = xb.transpose(1, 2): [2, 4, 5], b[p][q][j] = xb[p][j][q]
  Tensor a = xa.permute({1, 2, 0});
  Tensor b = xb.transpose(1, 2);
  std::vector<double> x = xa.to_vector<double>(), y = xb.to_vector<double>(), want;
  for (int64_t p = 0; p < 2; ++p) {
    append(want, naive_mm(
                     3, 4, 5, [&](int64_t i, int64_t q) { return x[(q * 2 + p) * 3 + i]; },
                     [&](int64_t q, int64_t j) { return y[(p * 5 + j) * 4 + q]; }));
  }
  expect_tensor<double>(matmul(a, b), {2, 3, 5}, want, kFloat32Tol);
}

TEST(MatmulStridedTest, SlicedAndExpandedOperands) {
  manual_seed(10);
  Tensor xa = randn({6, 8});
  Tensor a = xa.slice(0, 1, 6, 2).slice(1, 0, 8, 2);  // [3, 4]: a[i][q] = xa[1 + 2i][2q]
  Tensor xb = randn({4, 1});
  Tensor b = xb.expand({4, 3});  // [4, 3]: b[q][j] = xb[q][0]
  std::vector<double> x = xa.to_vector<double>(), y = xb.to_vector<double>();
  std::vector<double> want = naive_mm(
      3, 4, 3, [&](int64_t i, int64_t q) { return x[(1 + 2 * i) * 8 + 2 * q]; },
      [&](int64_t q, int64_t) { return y[q]; });
  expect_tensor<double>(matmul(a, b), {3, 3}, want, kFloat32Tol);
}

TEST(MatmulStridedTest, TransposeOfOwnProduct) {
  // (A B)^T = B^T A^T, each side computed from non-contiguous views.
  manual_seed(11);
  Tensor a = randn({3, 4});
  Tensor b = randn({4, 2});
  Tensor lhs = matmul(a, b).t();
  Tensor rhs = matmul(b.t(), a.t());
  std::vector<double> want = lhs.to_vector<double>();
  expect_tensor<double>(rhs, {2, 3}, want, kFloat32Tol);
}

TEST(MatmulStridedTest, LaterInPlaceChangesOfOperandsDoNotAffectTheResult) {
  // PyTorch computes eagerly: the product keeps the operands' values at the call.
  Tensor a = tensor({1.0, 2.0, 3.0, 4.0}).reshape({2, 2});
  Tensor b = tensor({1.0, 0.0, 0.0, 1.0}).reshape({2, 2});
  Tensor c = matmul(a, b);
  a.add_(100);
  b.mul_(0);
  expect_tensor<float>(c, {2, 2}, {1, 2, 3, 4});
}

// ---------------------------------------------------------------------------------------------
// mm

TEST(MmTest, MatchesMatmulAndTheNaiveLoop) {
  manual_seed(12);
  Tensor a = randn({5, 3});
  Tensor b = randn({3, 4});
  std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
  std::vector<double> want = naive_mm(5, 3, 4, in_stack(x, 0, 5, 3), in_stack(y, 0, 3, 4));
  expect_tensor<double>(mm(a, b), {5, 4}, want, kFloat32Tol);
  expect_tensor<double>(a.mm(b), {5, 4}, want, kFloat32Tol);
  EXPECT_EQ(mm(a, b).to_vector<float>(), matmul(a, b).to_vector<float>());
}

TEST(MmTest, Int32) {
  Tensor a = tensor({1, -2, 3, 4}, dtype(kInt32)).reshape({2, 2});
  Tensor b = tensor({5, 6, -7, 8}, dtype(kInt32)).reshape({2, 2});
  Tensor c = mm(a, b);
  EXPECT_EQ(c.dtype(), kInt32);
  expect_tensor<int32_t>(c, {2, 2}, {1 * 5 + -2 * -7, 1 * 6 + -2 * 8, 3 * 5 + 4 * -7, 3 * 6 + 4 * 8});
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST(MatmulErrorsTest, InnerDimensionMismatchNamesBothShapes) {
  EXPECT_KILN_ERROR(matmul(zeros({3, 4}), zeros({5, 2})), "matmul", "[3, 4]", "[5, 2]");
  EXPECT_KILN_ERROR(matmul(zeros({3}), zeros({4})), "matmul", "[3]", "[4]");
  EXPECT_KILN_ERROR(matmul(zeros({2, 3}), zeros({4})), "matmul", "[2, 3]", "[4]");
  EXPECT_KILN_ERROR(matmul(zeros({3}), zeros({4, 2})), "matmul", "[3]", "[4, 2]");
  EXPECT_KILN_ERROR(matmul(zeros({2, 3, 4}), zeros({2, 3, 4})), "matmul", "[2, 3, 4]");
  EXPECT_KILN_ERROR(zeros({2, 3}).matmul(zeros({2, 3})), "matmul", "[2, 3]");
}

TEST(MatmulErrorsTest, IncompatibleBatchDims) {
  EXPECT_KILN_ERROR(matmul(zeros({2, 3, 4}), zeros({3, 4, 5})), "matmul", "[2]", "[3]");
}

TEST(MatmulErrorsTest, ZeroDimOperand) {
  EXPECT_KILN_ERROR(matmul(tensor(1.0), zeros({3})), "matmul", "1D");
  EXPECT_KILN_ERROR(matmul(zeros({3, 3}), tensor(2.0)), "matmul", "1D");
  EXPECT_KILN_ERROR(matmul(tensor(1.0), tensor(2.0)), "matmul", "1D");
}

TEST(MatmulErrorsTest, DtypeMismatch) {
  EXPECT_KILN_ERROR(matmul(zeros({2, 2}), zeros({2, 2}, dtype(kFloat64))), "matmul", "float32", "float64");
  EXPECT_KILN_ERROR(matmul(zeros({2, 2}, dtype(kInt32)), zeros({2, 2}, dtype(kInt64))), "matmul", "int32", "int64");
  EXPECT_KILN_ERROR(matmul(zeros({2}, dtype(kInt64)), zeros({2})), "matmul", "int64", "float32");
}

TEST(MatmulErrorsTest, BoolOperands) {
  EXPECT_KILN_ERROR(matmul(ones({2, 2}, dtype(kBool)), ones({2, 2}, dtype(kBool))), "matmul", "bool");
}

TEST(MatmulErrorsTest, MmOnNonMatrices) {
  EXPECT_KILN_ERROR(mm(zeros({3}), zeros({3, 2})), "mm", "[3]");
  EXPECT_KILN_ERROR(mm(zeros({2, 3}), zeros({3})), "mm", "[3]");
  EXPECT_KILN_ERROR(mm(zeros({2, 2, 3}), zeros({3, 2})), "mm", "[2, 2, 3]");
  EXPECT_KILN_ERROR(zeros({2, 3}).mm(zeros({1, 3, 2})), "mm", "[1, 3, 2]");
  EXPECT_KILN_ERROR(mm(tensor(1.0), zeros({1, 1})), "mm", "[]");
}

TEST(MatmulErrorsTest, MmErrorsOnMatricesNameMm) {
  // The user called mm, so the error names mm (LibTorch: "mat1 and mat2 shapes cannot be multiplied").
  EXPECT_KILN_ERROR(mm(zeros({2, 3}), zeros({4, 5})), "mm", "[2, 3]", "[4, 5]");
  EXPECT_KILN_ERROR(mm(zeros({2, 2}), zeros({2, 2}, dtype(kInt32))), "mm", "float32", "int32");
}

TEST(MatmulErrorsTest, UndefinedOperand) { EXPECT_KILN_ERROR(matmul(Tensor(), zeros({2})), "matmul", "undefined"); }

}  // namespace
}  // namespace kiln
