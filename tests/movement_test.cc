// Movement ops (reshape, view, permute, transpose, t, squeeze/unsqueeze, expand, flatten, slice,
// narrow, select, contiguous) and joining (cat, stack). Values are checked against index
// arithmetic on plain arrays; strides() and is_contiguous() against what PyTorch reports for the
// same ops.
#include <gtest/gtest.h>

#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using testing::expect_tensor;

// 0, 1, ..., numel - 1 as float32, with `shape`.
Tensor iota(const Shape& shape, ScalarType t = kFloat32) { return arange(numel(shape), dtype(t)).reshape(shape); }

// The values iota(shape) holds, flat.
std::vector<double> iota_values(int64_t n) {
  std::vector<double> v(static_cast<size_t>(n));
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(i)] = static_cast<double>(i);
  return v;
}

// ---------------------------------------------------------------------------------------------
// reshape and view

TEST(ReshapeTest, KeepsRowMajorOrder) {
  Tensor x = iota({2, 6});
  expect_tensor<double>(x.reshape({3, 4}), {3, 4}, iota_values(12));
  expect_tensor<double>(x.reshape({2, 3, 2}), {2, 3, 2}, iota_values(12));
  expect_tensor<double>(x.reshape({12}), {12}, iota_values(12));
}

TEST(ReshapeTest, InfersMinusOne) {
  Tensor x = iota({2, 6});
  EXPECT_EQ(x.reshape({-1}).sizes(), (Shape{12}));
  EXPECT_EQ(x.reshape({3, -1}).sizes(), (Shape{3, 4}));
  EXPECT_EQ(x.reshape({-1, 2}).sizes(), (Shape{6, 2}));
  EXPECT_EQ(x.reshape({2, -1, 3}).sizes(), (Shape{2, 2, 3}));
  EXPECT_EQ(x.reshape({1, -1, 1}).sizes(), (Shape{1, 12, 1}));
  expect_tensor<double>(x.view({4, -1}), {4, 3}, iota_values(12));
}

TEST(ReshapeTest, ToAndFromZeroDim) {
  Tensor one = tensor({7.0});
  Tensor scalar = one.reshape({});
  EXPECT_EQ(scalar.dim(), 0);
  EXPECT_EQ(scalar.item<double>(), 7.0);
  expect_tensor<float>(scalar.reshape({1, 1}), {1, 1}, {7});
  expect_tensor<float>(scalar.view({-1}), {1}, {7});
}

TEST(ReshapeTest, OfContiguousTensorIsAView) {
  Tensor x = iota({2, 3});
  Tensor r = x.reshape({3, 2});
  EXPECT_EQ(r.strides(), (Shape{2, 1}));
  r.add_(10);  // as in PyTorch, writes through the view to the base
  expect_tensor<float>(x, {2, 3}, {10, 11, 12, 13, 14, 15});
}

TEST(ReshapeTest, OfNonContiguousTensorCopies) {
  Tensor x = iota({2, 3});
  Tensor t = x.t();  // [[0, 3], [1, 4], [2, 5]]
  Tensor r = t.reshape({6});
  expect_tensor<float>(r, {6}, {0, 3, 1, 4, 2, 5});
  EXPECT_TRUE(r.is_contiguous());
  EXPECT_EQ(r.strides(), (Shape{1}));
  r.add_(100);  // a copy: the base is not affected
  expect_tensor<float>(x, {2, 3}, {0, 1, 2, 3, 4, 5});
  expect_tensor<float>(r, {6}, {100, 103, 101, 104, 102, 105});
}

TEST(ReshapeTest, ViewsSeeLaterInPlaceChangesOfTheBaseButCopiesDoNot) {
  Tensor x = iota({2, 3});
  Tensor view = x.reshape({3, 2});
  Tensor copy = x.t().reshape({6});
  x.mul_(10);
  expect_tensor<float>(view, {3, 2}, {0, 10, 20, 30, 40, 50});
  expect_tensor<float>(copy, {6}, {0, 3, 1, 4, 2, 5});
}

TEST(ViewTest, FailsOnTransposedTensorWhereReshapeCopies) {
  Tensor t = iota({2, 3}).t();  // sizes [3, 2], strides [1, 3]
  EXPECT_KILN_ERROR(t.view({6}), "view", "[3, 2]", "[1, 3]", "reshape");
  EXPECT_KILN_ERROR(t.view({2, 3}), "view", "[3, 2]", "[1, 3]");
  EXPECT_KILN_ERROR(t.view({-1}), "view", "[3, 2]");
  expect_tensor<float>(t.reshape({2, 3}), {2, 3}, {0, 3, 1, 4, 2, 5});
}

TEST(ViewTest, SucceedsOnNonContiguousTensorWhenOnlySplittingOrKeepingDims) {
  // PyTorch can view these without a copy: each new dimension lies within one old dimension.
  Tensor t = iota({3, 4}).t();  // sizes [4, 3], strides [1, 4]
  Tensor v = t.view({2, 2, 3});
  EXPECT_EQ(v.strides(), (Shape{2, 1, 4}));
  std::vector<double> want;
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t c = 0; c < 3; ++c) want.push_back(static_cast<double>(c * 4 + (a * 2 + b)));
  expect_tensor<double>(v, {2, 2, 3}, want);

  Tensor p = iota({2, 3, 4}).permute({1, 0, 2});  // sizes [3, 2, 4], strides [4, 12, 1]
  Tensor q = p.view({3, 2, 2, 2});
  EXPECT_EQ(q.strides(), (Shape{4, 12, 2, 1}));
  EXPECT_FALSE(q.is_contiguous());
  EXPECT_KILN_ERROR(p.view({3, 8}), "view", "[3, 2, 4]", "[4, 12, 1]");
  EXPECT_KILN_ERROR(p.view({6, 4}), "view", "[3, 2, 4]");
}

TEST(ViewTest, OfSlicedTensorMergesOnlyCompatibleDims) {
  Tensor s = iota({4, 6}).slice(1, 0, 3);  // sizes [4, 3], strides [6, 1]
  Tensor v = s.view({2, 2, 3});
  EXPECT_EQ(v.strides(), (Shape{12, 6, 1}));
  std::vector<double> want;
  for (int64_t r = 0; r < 4; ++r)
    for (int64_t c = 0; c < 3; ++c) want.push_back(static_cast<double>(r * 6 + c));
  expect_tensor<double>(v, {2, 2, 3}, want);
  EXPECT_EQ(s.view({4, 3, 1}).strides(), (Shape{6, 1, 1}));
  EXPECT_KILN_ERROR(s.view({12}), "view", "[4, 3]", "[6, 1]");
  expect_tensor<double>(s.reshape({12}), {12}, want);
}

TEST(ViewTest, OfEveryOtherColumnIsOneStridedChunk) {
  Tensor s = iota({4, 4}).slice(1, 0, 4, 2);  // sizes [4, 2], strides [4, 2]: elements 0, 2, ..., 14
  Tensor v = s.view({8});
  EXPECT_EQ(v.strides(), (Shape{2}));
  expect_tensor<float>(v, {8}, {0, 2, 4, 6, 8, 10, 12, 14});
}

TEST(ViewTest, OfExpandedTensor) {
  Tensor e = tensor({1.0, 2.0, 3.0}).reshape({3, 1}).expand({3, 4});  // strides [1, 0]
  Tensor v = e.view({3, 2, 2});
  EXPECT_EQ(v.strides(), (Shape{1, 0, 0}));
  expect_tensor<float>(v, {3, 2, 2}, {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
  EXPECT_KILN_ERROR(e.view({12}), "view", "[3, 4]", "[1, 0]");
  expect_tensor<float>(e.reshape({12}), {12}, {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
}

// ---------------------------------------------------------------------------------------------
// permute, transpose, t

TEST(PermuteTest, ReordersDims) {
  Tensor p = iota({2, 3, 4}).permute({2, 0, 1});
  std::vector<double> want;
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t k = 0; k < 3; ++k) want.push_back(static_cast<double>(j * 12 + k * 4 + i));
  expect_tensor<double>(p, {4, 2, 3}, want);
}

TEST(PermuteTest, AcceptsNegativeDims) {
  Tensor x = iota({2, 3, 4});
  std::vector<float> a = x.permute({-1, 0, -2}).to_vector<float>();
  std::vector<float> b = x.permute({2, 0, 1}).to_vector<float>();
  EXPECT_EQ(a, b);
  EXPECT_EQ(x.permute({-1, 0, -2}).sizes(), (Shape{4, 2, 3}));
}

TEST(PermuteTest, IdentityAndZeroDim) {
  Tensor x = iota({2, 3});
  expect_tensor<double>(x.permute({0, 1}), {2, 3}, iota_values(6));
  EXPECT_TRUE(x.permute({0, 1}).is_contiguous());
  Tensor s = tensor(2.5);
  EXPECT_EQ(s.permute({}).item<double>(), 2.5);
}

TEST(TransposeTest, SwapsTwoDims) {
  Tensor t = iota({2, 3, 4}).transpose(0, 2);
  std::vector<double> want;
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 3; ++j)
      for (int64_t k = 0; k < 2; ++k) want.push_back(static_cast<double>(k * 12 + j * 4 + i));
  expect_tensor<double>(t, {4, 3, 2}, want);
}

TEST(TransposeTest, NegativeDimsAndSameDim) {
  Tensor x = iota({2, 3, 4});
  EXPECT_EQ(x.transpose(-1, -2).to_vector<float>(), x.transpose(1, 2).to_vector<float>());
  EXPECT_EQ(x.transpose(-1, -2).sizes(), (Shape{2, 4, 3}));
  expect_tensor<double>(x.transpose(1, 1), {2, 3, 4}, iota_values(24));
}

TEST(TTest, TransposesMatrix) { expect_tensor<float>(iota({2, 3}).t(), {3, 2}, {0, 3, 1, 4, 2, 5}); }

TEST(TTest, OneDimAndZeroDimAreUnchanged) {
  expect_tensor<float>(iota({3}).t(), {3}, {0, 1, 2});
  EXPECT_EQ(tensor(4.0).t().item<double>(), 4.0);
  EXPECT_EQ(tensor(4.0).t().dim(), 0);
}

// ---------------------------------------------------------------------------------------------
// unsqueeze, squeeze

TEST(UnsqueezeTest, InsertsSizeOneDim) {
  Tensor x = iota({2, 3});
  EXPECT_EQ(x.unsqueeze(0).sizes(), (Shape{1, 2, 3}));
  EXPECT_EQ(x.unsqueeze(1).sizes(), (Shape{2, 1, 3}));
  EXPECT_EQ(x.unsqueeze(2).sizes(), (Shape{2, 3, 1}));
  expect_tensor<double>(x.unsqueeze(1), {2, 1, 3}, iota_values(6));
}

TEST(UnsqueezeTest, NegativeDimsCountFromTheEndOfTheResult) {
  Tensor x = iota({2, 3});
  EXPECT_EQ(x.unsqueeze(-1).sizes(), (Shape{2, 3, 1}));
  EXPECT_EQ(x.unsqueeze(-2).sizes(), (Shape{2, 1, 3}));
  EXPECT_EQ(x.unsqueeze(-3).sizes(), (Shape{1, 2, 3}));
  EXPECT_EQ(tensor(1.0).unsqueeze(0).sizes(), (Shape{1}));
  EXPECT_EQ(tensor(1.0).unsqueeze(-1).sizes(), (Shape{1}));
}

TEST(SqueezeTest, AllSizeOneDims) {
  Tensor x = iota({1, 3, 1, 2});
  expect_tensor<double>(x.squeeze(), {3, 2}, iota_values(6));
  Tensor ones_only = iota({1, 1, 1});
  EXPECT_EQ(ones_only.squeeze().dim(), 0);
  EXPECT_EQ(ones_only.squeeze().item<double>(), 0.0);
  EXPECT_EQ(iota({2, 3}).squeeze().sizes(), (Shape{2, 3}));
}

TEST(SqueezeTest, OneDim) {
  Tensor x = iota({1, 3, 1, 2});
  EXPECT_EQ(x.squeeze(0).sizes(), (Shape{3, 1, 2}));
  EXPECT_EQ(x.squeeze(2).sizes(), (Shape{1, 3, 2}));
  EXPECT_EQ(x.squeeze(1).sizes(), (Shape{1, 3, 1, 2}));  // size 3: unchanged, as in PyTorch
  EXPECT_EQ(x.squeeze(-2).sizes(), (Shape{1, 3, 2}));
  EXPECT_EQ(x.squeeze(-4).sizes(), (Shape{3, 1, 2}));
  expect_tensor<double>(x.squeeze(2), {1, 3, 2}, iota_values(6));
  EXPECT_EQ(tensor(3.0).squeeze(0).dim(), 0);
}

// ---------------------------------------------------------------------------------------------
// expand, expand_as

TEST(ExpandTest, SingletonDims) {
  Tensor col = tensor({1.0, 2.0, 3.0}).reshape({3, 1});
  expect_tensor<float>(col.expand({3, 4}), {3, 4}, {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3});
}

TEST(ExpandTest, NewLeadingDims) {
  Tensor row = tensor({1.0, 2.0, 3.0});
  expect_tensor<float>(row.expand({2, 3}), {2, 3}, {1, 2, 3, 1, 2, 3});
  Tensor e = row.expand({2, 2, 3});
  EXPECT_EQ(e.sizes(), (Shape{2, 2, 3}));
  expect_tensor<float>(e, {2, 2, 3}, {1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2, 3});
}

TEST(ExpandTest, MinusOneKeepsTheSize) {
  Tensor col = tensor({1.0, 2.0}).reshape({2, 1});
  expect_tensor<float>(col.expand({-1, 3}), {2, 3}, {1, 1, 1, 2, 2, 2});
  expect_tensor<float>(col.expand({2, -1, 2}), {2, 2, 2}, {1, 1, 2, 2, 1, 1, 2, 2});
  expect_tensor<float>(col.expand({-1, -1}), {2, 1}, {1, 2});
}

TEST(ExpandTest, ExpandAs) {
  Tensor row = tensor({5, 6}).reshape({1, 2});
  Tensor target = zeros({3, 2});
  Tensor e = row.expand_as(target);
  EXPECT_EQ(e.dtype(), kInt64);  // keeps its own dtype
  expect_tensor<int64_t>(e, {3, 2}, {5, 6, 5, 6, 5, 6});
}

// ---------------------------------------------------------------------------------------------
// flatten

TEST(FlattenTest, Ranges) {
  Tensor x = iota({2, 3, 4});
  expect_tensor<double>(x.flatten(), {24}, iota_values(24));
  EXPECT_EQ(x.flatten(1).sizes(), (Shape{2, 12}));
  EXPECT_EQ(x.flatten(0, 1).sizes(), (Shape{6, 4}));
  EXPECT_EQ(x.flatten(-2, -1).sizes(), (Shape{2, 12}));
  EXPECT_EQ(x.flatten(1, 1).sizes(), (Shape{2, 3, 4}));
  expect_tensor<double>(x.flatten(0, 1), {6, 4}, iota_values(24));
}

TEST(FlattenTest, OfContiguousTensorIsAView) {
  Tensor x = zeros({2, 3});
  x.flatten().slice(0, 0, 6, 4).fill_(1);  // elements 0 and 4 of the flat view
  expect_tensor<float>(x, {2, 3}, {1, 0, 0, 0, 1, 0});
}

TEST(FlattenTest, ZeroDimBecomesOneElement) {
  Tensor f = tensor(9.0).flatten();
  expect_tensor<float>(f, {1}, {9});
}

TEST(FlattenTest, NonContiguousInputIsCopiedInLogicalOrder) {
  Tensor p = iota({2, 3, 4}).permute({1, 0, 2});  // [3, 2, 4]
  Tensor f = p.flatten(0, 1);
  std::vector<double> want;
  for (int64_t a = 0; a < 3; ++a)
    for (int64_t b = 0; b < 2; ++b)
      for (int64_t c = 0; c < 4; ++c) want.push_back(static_cast<double>(b * 12 + a * 4 + c));
  expect_tensor<double>(f, {6, 4}, want);
  EXPECT_TRUE(f.is_contiguous());
}

// ---------------------------------------------------------------------------------------------
// slice, narrow, select, operator[]

TEST(SliceTest, StartAndEnd) {
  Tensor x = iota({10});
  expect_tensor<float>(x.slice(0, 2, 6), {4}, {2, 3, 4, 5});
  expect_tensor<float>(x.slice(0, 7), {3}, {7, 8, 9});
  expect_tensor<float>(x.slice(0, std::nullopt, 3), {3}, {0, 1, 2});
  expect_tensor<double>(x.slice(), {10}, iota_values(10));
}

TEST(SliceTest, NegativeBounds) {
  Tensor x = iota({10});
  expect_tensor<float>(x.slice(0, -3), {3}, {7, 8, 9});
  expect_tensor<float>(x.slice(0, 1, -7), {2}, {1, 2});
  expect_tensor<float>(x.slice(0, -4, -2), {2}, {6, 7});
}

TEST(SliceTest, OutOfRangeBoundsClamp) {
  Tensor x = iota({5});
  expect_tensor<float>(x.slice(0, -100, 100), {5}, {0, 1, 2, 3, 4});
  expect_tensor<float>(x.slice(0, 3, 100), {2}, {3, 4});
  expect_tensor<float>(x.slice(0, 7, 9), {0}, {});
  expect_tensor<float>(x.slice(0, 4, 2), {0}, {});  // end before start: empty
  expect_tensor<float>(x.slice(0, -2, -4), {0}, {});
}

TEST(SliceTest, StepTwo) {
  Tensor x = iota({10});
  expect_tensor<float>(x.slice(0, 0, 10, 2), {5}, {0, 2, 4, 6, 8});
  expect_tensor<float>(x.slice(0, 1, std::nullopt, 2), {5}, {1, 3, 5, 7, 9});
  expect_tensor<float>(x.slice(0, 1, 8, 2), {4}, {1, 3, 5, 7});
}

TEST(SliceTest, StepThree) {
  Tensor x = iota({10});
  expect_tensor<float>(x.slice(0, 0, 10, 3), {4}, {0, 3, 6, 9});
  expect_tensor<float>(x.slice(0, 1, 10, 3), {3}, {1, 4, 7});
  expect_tensor<float>(x.slice(0, 2, 9, 3), {3}, {2, 5, 8});
  expect_tensor<float>(x.slice(0, -5, std::nullopt, 3), {2}, {5, 8});
}

TEST(SliceTest, InnerDimWithStep) {
  Tensor x = iota({3, 7});
  Tensor s = x.slice(1, 1, -1, 2);  // columns 1, 3, 5
  std::vector<double> want;
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t c = 1; c < 6; c += 2) want.push_back(static_cast<double>(r * 7 + c));
  expect_tensor<double>(s, {3, 3}, want);
  Tensor n = x.slice(-1, 0, 7, 3);  // negative dim: columns 0, 3, 6
  want.clear();
  for (int64_t r = 0; r < 3; ++r)
    for (int64_t c = 0; c < 7; c += 3) want.push_back(static_cast<double>(r * 7 + c));
  expect_tensor<double>(n, {3, 3}, want);
}

TEST(NarrowTest, TakesALengthFromAStart) {
  Tensor x = iota({3, 5});
  expect_tensor<float>(x.narrow(1, 1, 2), {3, 2}, {1, 2, 6, 7, 11, 12});
  expect_tensor<float>(x.narrow(0, 2, 1), {1, 5}, {10, 11, 12, 13, 14});
  expect_tensor<float>(x.narrow(0, -2, 2), {2, 5}, {5, 6, 7, 8, 9, 10, 11, 12, 13, 14});
  expect_tensor<float>(x.narrow(-1, 4, 1), {3, 1}, {4, 9, 14});
  EXPECT_EQ(x.narrow(1, 5, 0).sizes(), (Shape{3, 0}));
}

TEST(SelectTest, RemovesTheDim) {
  Tensor x = iota({2, 3, 4});
  Tensor s = x.select(1, 2);
  std::vector<double> want;
  for (int64_t a = 0; a < 2; ++a)
    for (int64_t c = 0; c < 4; ++c) want.push_back(static_cast<double>(a * 12 + 2 * 4 + c));
  expect_tensor<double>(s, {2, 4}, want);
  expect_tensor<float>(x.select(-1, 3), {2, 3}, {3, 7, 11, 15, 19, 23});
  expect_tensor<float>(x.select(0, -1).select(0, 0), {4}, {12, 13, 14, 15});
}

TEST(SelectTest, IndexOperator) {
  Tensor x = iota({3, 4});
  expect_tensor<float>(x[1], {4}, {4, 5, 6, 7});
  expect_tensor<float>(x[-1], {4}, {8, 9, 10, 11});
  Tensor e = x[2][1];
  EXPECT_EQ(e.dim(), 0);
  EXPECT_EQ(e.item<double>(), 9.0);
  EXPECT_EQ(x[0][-1].item<double>(), 3.0);
}

TEST(ContiguousTest, CopiesNonContiguousInLogicalOrder) {
  Tensor t = iota({2, 3}).t();
  EXPECT_FALSE(t.is_contiguous());
  Tensor c = t.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_EQ(c.strides(), (Shape{2, 1}));
  expect_tensor<float>(c, {3, 2}, {0, 3, 1, 4, 2, 5});
}

TEST(ContiguousTest, OfContiguousTensorReturnsTheSameTensor) {
  Tensor x = iota({2, 3});
  Tensor c = x.contiguous();
  EXPECT_EQ(c.impl(), x.impl());  // PyTorch returns *this when already contiguous
  expect_tensor<double>(c, {2, 3}, iota_values(6));
}

// ---------------------------------------------------------------------------------------------
// Chains of views, checked against index arithmetic on the flat base

TEST(ViewChainTest, TransposeSliceReshape) {
  Tensor base = iota({3, 4, 5});
  Tensor y = base.transpose(0, 2);  // [5, 4, 3]: y[a][b][c] = base[c][b][a]
  Tensor z = y.slice(0, 1, 5, 2);   // [2, 4, 3]: z[a][b][c] = y[1 + 2a][b][c]
  Tensor w = z.reshape({8, 3});     // w[i][j] = z[i / 4][i % 4][j]
  std::vector<double> want;
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t j = 0; j < 3; ++j) want.push_back(static_cast<double>(j * 20 + (i % 4) * 5 + 1 + 2 * (i / 4)));
  expect_tensor<double>(w, {8, 3}, want);
}

TEST(ViewChainTest, PermuteSelectUnsqueezeExpandFlatten) {
  Tensor base = iota({2, 3, 4});
  Tensor a = base.permute({2, 0, 1});           // [4, 2, 3]: a[i][j][k] = base[j][k][i]
  Tensor b = a.select(1, 1);                    // [4, 3]: b[i][k] = base[1][k][i]
  Tensor c = b.unsqueeze(0).expand({2, 4, 3});  // [2, 4, 3]: c[r][i][k] = b[i][k]
  Tensor d = c.flatten(0, 1);                   // [8, 3]: d[i][k] = b[i % 4][k]
  std::vector<double> want;
  for (int64_t i = 0; i < 8; ++i)
    for (int64_t k = 0; k < 3; ++k) want.push_back(static_cast<double>(12 + k * 4 + i % 4));
  expect_tensor<double>(d, {8, 3}, want);
}

TEST(ViewChainTest, NarrowTransposeStridedSliceContiguousView) {
  Tensor base = iota({6, 8});
  Tensor a = base.narrow(1, 2, 6);  // [6, 6]: a[i][j] = base[i][j + 2]
  Tensor b = a.t();                 // b[i][j] = base[j][i + 2]
  Tensor c = b.slice(1, 0, 6, 3);   // [6, 2]: c[i][j] = base[3j][i + 2]
  Tensor d = c.contiguous().view({3, 4});
  std::vector<double> want;
  for (int64_t f = 0; f < 12; ++f) want.push_back(static_cast<double>(3 * (f % 2) * 8 + f / 2 + 2));
  expect_tensor<double>(d, {3, 4}, want);
}

TEST(ViewChainTest, IndexSliceTransposeSqueeze) {
  Tensor base = iota({3, 4, 5});
  Tensor a = base[-1];                           // [4, 5]: a[i][j] = base[2][i][j]
  Tensor b = a.slice(-1, -3).slice(0, 1, 4, 2);  // [2, 3]: b[i][j] = a[1 + 2i][2 + j]
  Tensor c = b.t().unsqueeze(1).squeeze(1);      // [3, 2]: c[j][i] = b[i][j]
  std::vector<double> want;
  for (int64_t j = 0; j < 3; ++j)
    for (int64_t i = 0; i < 2; ++i) want.push_back(static_cast<double>(40 + (1 + 2 * i) * 5 + 2 + j));
  expect_tensor<double>(c, {3, 2}, want);
}

TEST(ViewChainTest, InPlaceOnAViewChainUpdatesTheBase) {
  Tensor base = zeros({3, 4});
  Tensor v = base.t().slice(0, 1, 4, 2);  // [2, 3]: v[i][j] = base[j][1 + 2i]
  v.add_(1);
  expect_tensor<float>(base, {3, 4}, {0, 1, 0, 1, 0, 1, 0, 1, 0, 1, 0, 1});
}

// ---------------------------------------------------------------------------------------------
// strides() and is_contiguous(), against PyTorch's values for the same ops

TEST(StridesTest, ContiguousTensor) {
  Tensor x = zeros({2, 3, 4});
  EXPECT_EQ(x.strides(), (Shape{12, 4, 1}));
  EXPECT_TRUE(x.is_contiguous());
  EXPECT_EQ(zeros({}).strides(), (Shape{}));
  EXPECT_TRUE(zeros({}).is_contiguous());
}

TEST(StridesTest, PermuteAndTranspose) {
  Tensor x = zeros({2, 3, 4});
  EXPECT_EQ(x.permute({2, 0, 1}).strides(), (Shape{1, 12, 4}));
  EXPECT_FALSE(x.permute({2, 0, 1}).is_contiguous());
  EXPECT_EQ(x.transpose(0, 1).strides(), (Shape{4, 12, 1}));
  EXPECT_FALSE(x.transpose(0, 1).is_contiguous());
  EXPECT_EQ(zeros({3, 4}).t().strides(), (Shape{1, 4}));
  EXPECT_FALSE(zeros({3, 4}).t().is_contiguous());
  // A transpose that only moves size-1 dims is still contiguous.
  EXPECT_TRUE(zeros({1, 4}).t().is_contiguous());
}

TEST(StridesTest, SliceNarrowSelect) {
  Tensor x = zeros({2, 3, 4});
  EXPECT_EQ(x.slice(2, 1, 4, 2).strides(), (Shape{12, 4, 2}));
  EXPECT_FALSE(x.slice(2, 1, 4, 2).is_contiguous());
  EXPECT_EQ(x.slice(1, 0, 3, 2).strides(), (Shape{12, 8, 1}));
  EXPECT_EQ(x.slice(0, 1, 2).strides(), (Shape{12, 4, 1}));
  EXPECT_TRUE(x.slice(0, 1, 2).is_contiguous());
  EXPECT_EQ(x.narrow(2, 1, 2).strides(), (Shape{12, 4, 1}));
  EXPECT_FALSE(x.narrow(2, 1, 2).is_contiguous());
  EXPECT_EQ(x.select(1, 2).strides(), (Shape{12, 1}));
  EXPECT_FALSE(x.select(1, 2).is_contiguous());
  EXPECT_EQ(x.select(0, 1).strides(), (Shape{4, 1}));
  EXPECT_TRUE(x.select(0, 1).is_contiguous());
  EXPECT_EQ(x[1][2].strides(), (Shape{1}));
  EXPECT_EQ(zeros({4, 6}).slice(1, 0, 6, 2).view({2, 2, 3}).strides(), (Shape{12, 6, 2}));
}

TEST(StridesTest, UnsqueezeAndSqueezeOfContiguous) {
  Tensor x = zeros({2, 3, 4});
  EXPECT_EQ(x.unsqueeze(0).strides(), (Shape{24, 12, 4, 1}));
  EXPECT_EQ(x.unsqueeze(1).strides(), (Shape{12, 12, 4, 1}));
  EXPECT_EQ(x.unsqueeze(3).strides(), (Shape{12, 4, 1, 1}));
  EXPECT_TRUE(x.unsqueeze(1).is_contiguous());
  EXPECT_EQ(zeros({1, 3, 1, 2}).squeeze().strides(), (Shape{2, 1}));
  EXPECT_EQ(zeros({1, 3, 1, 2}).squeeze(0).strides(), (Shape{2, 2, 1}));
}

TEST(StridesTest, UnsqueezeOfTransposed) {
  // PyTorch's unsqueeze gives the new dim stride sizes[d] * strides[d], or 1 at the end.
  Tensor t = zeros({2, 3}).t();  // sizes [3, 2], strides [1, 3]
  EXPECT_EQ(t.unsqueeze(0).strides(), (Shape{3, 1, 3}));
  EXPECT_EQ(t.unsqueeze(1).strides(), (Shape{1, 6, 3}));
  EXPECT_EQ(t.unsqueeze(2).strides(), (Shape{1, 3, 1}));
  EXPECT_FALSE(t.unsqueeze(2).is_contiguous());
}

TEST(StridesTest, Expand) {
  EXPECT_EQ(zeros({3, 1}).expand({2, 3, 4}).strides(), (Shape{0, 1, 0}));
  EXPECT_FALSE(zeros({3, 1}).expand({2, 3, 4}).is_contiguous());
  EXPECT_EQ(zeros({3}).expand({2, 3}).strides(), (Shape{0, 1}));
  EXPECT_EQ(zeros({3, 1}).expand({3, 1}).strides(), (Shape{1, 1}));
  EXPECT_EQ(zeros({2, 3}).t().expand({4, 3, 2}).strides(), (Shape{0, 1, 3}));
  EXPECT_TRUE(zeros({3, 1}).expand({3, 1}).is_contiguous());
  // A new leading dim of size 1 takes the stride sizes[0] * strides[0] (at::inferExpandGeometry).
  EXPECT_EQ(zeros({3}).expand({1, 3}).strides(), (Shape{3, 1}));
  EXPECT_TRUE(zeros({3}).expand({1, 3}).is_contiguous());
}

TEST(StridesTest, ReshapeFlattenAndContiguous) {
  Tensor p = zeros({2, 3, 4}).permute({1, 0, 2});                      // sizes [3, 2, 4], strides [4, 12, 1]
  EXPECT_EQ(p.reshape({3, 2, 2, 2}).strides(), (Shape{4, 12, 2, 1}));  // a view
  EXPECT_EQ(p.reshape({6, 4}).strides(), (Shape{4, 1}));               // a copy
  EXPECT_EQ(p.flatten(1).strides(), (Shape{8, 1}));
  EXPECT_EQ(p.contiguous().strides(), (Shape{8, 4, 1}));
  EXPECT_EQ(zeros({2, 3, 4}).flatten().strides(), (Shape{1}));
}

TEST(StridesTest, EmptyTensorsAreAlwaysContiguous) {
  // PyTorch's compute_contiguous returns true whenever numel() == 0.
  Tensor e = zeros({0, 3}).t();  // sizes [3, 0], strides [1, 3]
  EXPECT_EQ(e.strides(), (Shape{1, 3}));
  EXPECT_TRUE(e.is_contiguous());
  EXPECT_TRUE(zeros({4, 5}).slice(1, 0, 5, 2).slice(0, 2, 2).is_contiguous());
}

// ---------------------------------------------------------------------------------------------
// cat, stack

TEST(CatTest, AlongDimZero) {
  Tensor a = iota({2, 3});
  Tensor b = tensor({10.0, 11.0, 12.0}).reshape({1, 3});
  expect_tensor<float>(cat({a, b}), {3, 3}, {0, 1, 2, 3, 4, 5, 10, 11, 12});
}

TEST(CatTest, AlongInnerAndNegativeDims) {
  Tensor a = iota({2, 2});
  Tensor b = tensor({7.0, 8.0, 9.0, 10.0, 11.0, 12.0}).reshape({2, 3});
  expect_tensor<float>(cat({a, b}, 1), {2, 5}, {0, 1, 7, 8, 9, 2, 3, 10, 11, 12});
  expect_tensor<float>(cat({a, b}, -1), {2, 5}, {0, 1, 7, 8, 9, 2, 3, 10, 11, 12});
}

TEST(CatTest, ThreeInputsAlongMiddleDim) {
  Tensor a = iota({2, 1, 2});
  Tensor b = iota({2, 2, 2}) + 100;
  Tensor c = iota({2, 1, 2}) + 200;
  Tensor r = cat({a, b, c}, 1);
  std::vector<double> want;
  for (int64_t i = 0; i < 2; ++i) {
    for (int64_t k = 0; k < 2; ++k) want.push_back(static_cast<double>(i * 2 + k));
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t k = 0; k < 2; ++k) want.push_back(static_cast<double>(100 + i * 4 + j * 2 + k));
    for (int64_t k = 0; k < 2; ++k) want.push_back(static_cast<double>(200 + i * 2 + k));
  }
  expect_tensor<double>(r, {2, 4, 2}, want);
}

TEST(CatTest, NonContiguousInputsAndSingleInput) {
  Tensor t = iota({3, 2}).t();  // [[0, 2, 4], [1, 3, 5]]
  expect_tensor<float>(cat({t, t.slice(1, 1, 3)}, 1), {2, 5}, {0, 2, 4, 2, 4, 1, 3, 5, 3, 5});
  expect_tensor<float>(cat({t}), {2, 3}, {0, 2, 4, 1, 3, 5});
}

TEST(CatTest, PromotesDtypesAcrossInputs) {
  Tensor i32 = tensor({1, 2}, dtype(kInt32));
  Tensor i64 = tensor({3, 4});
  Tensor f32 = tensor({0.5, 1.5});
  Tensor f64 = tensor({2.5, 3.5}, dtype(kFloat64));
  Tensor b = tensor({true, false});
  EXPECT_EQ(cat({i32, i64}).dtype(), kInt64);
  expect_tensor<int64_t>(cat({i32, i64}), {4}, {1, 2, 3, 4});
  EXPECT_EQ(cat({i64, f32}).dtype(), kFloat32);
  expect_tensor<float>(cat({i64, f32}), {4}, {3, 4, 0.5, 1.5});
  EXPECT_EQ(cat({f32, f64}).dtype(), kFloat64);
  expect_tensor<double>(cat({f32, f64}), {4}, {0.5, 1.5, 2.5, 3.5});
  EXPECT_EQ(cat({b, i32}).dtype(), kInt32);
  expect_tensor<int32_t>(cat({b, i32}), {4}, {1, 0, 1, 2});
  EXPECT_EQ(cat({b, b}).dtype(), kBool);
  EXPECT_EQ(cat({b, i32, f64}).dtype(), kFloat64);
  expect_tensor<double>(cat({b, i32, f64}), {6}, {1, 0, 1, 2, 2.5, 3.5});
}

TEST(CatTest, SkipsOneDimEmptyInputsOfAnyShape) {
  // Documented torch.cat behaviour: besides same-shaped tensors, inputs may be 1-D empty tensors
  // of size (0,), which are skipped (the idiom `out = cat({out, x})` starting from an empty out).
  Tensor empty = zeros({0});
  Tensor x = iota({2, 3});
  expect_tensor<double>(cat({empty, x}), {2, 3}, iota_values(6));
  expect_tensor<double>(cat({x, empty}, 1), {2, 3}, iota_values(6));
}

TEST(StackTest, AlongNewLeadingDim) {
  Tensor a = tensor({1.0, 2.0, 3.0});
  Tensor b = tensor({4.0, 5.0, 6.0});
  expect_tensor<float>(stack({a, b}), {2, 3}, {1, 2, 3, 4, 5, 6});
}

TEST(StackTest, AlongInnerAndLastDims) {
  Tensor a = iota({2, 3});
  Tensor b = iota({2, 3}) + 10;
  expect_tensor<float>(stack({a, b}, 1), {2, 2, 3}, {0, 1, 2, 10, 11, 12, 3, 4, 5, 13, 14, 15});
  expect_tensor<float>(stack({a, b}, 2), {2, 3, 2}, {0, 10, 1, 11, 2, 12, 3, 13, 4, 14, 5, 15});
  expect_tensor<float>(stack({a, b}, -1), {2, 3, 2}, {0, 10, 1, 11, 2, 12, 3, 13, 4, 14, 5, 15});
  expect_tensor<float>(stack({a, b}, -3), {2, 2, 3}, {0, 1, 2, 3, 4, 5, 10, 11, 12, 13, 14, 15});
}

TEST(StackTest, ThreeInputsAndZeroDimInputs) {
  Tensor r = stack({tensor(1.0), tensor(2.0), tensor(3.0)});
  expect_tensor<float>(r, {3}, {1, 2, 3});
  Tensor a = tensor({1, 2});
  Tensor s = stack({a, a + 10, a + 20}, 1);
  EXPECT_EQ(s.dtype(), kInt64);
  expect_tensor<int64_t>(s, {2, 3}, {1, 11, 21, 2, 12, 22});
}

// ---------------------------------------------------------------------------------------------
// Every dtype

template <typename T>
class MovementDtypeTest : public ::testing::Test {
 protected:
  // A value that differs between neighbours, representable in T.
  static T value(int64_t i) {
    if constexpr (std::is_same_v<T, bool>)
      return i % 3 == 1;
    else if constexpr (std::is_floating_point_v<T>)
      return static_cast<T>(i * 7 % 11) - static_cast<T>(4.5);
    else
      return static_cast<T>(i * 7 % 11 - 4);
  }
  static std::vector<T> values(int64_t n) {
    std::vector<T> v;
    for (int64_t i = 0; i < n; ++i) v.push_back(value(i));
    return v;
  }
  // A tensor of `shape` whose flat element i is value(i).
  static Tensor make(const Shape& shape) {
    std::vector<double> v;
    for (int64_t i = 0; i < numel(shape); ++i) v.push_back(static_cast<double>(value(i)));
    return tensor(v, dtype(dtype_of<T>)).reshape(shape);
  }
};

TYPED_TEST_SUITE(MovementDtypeTest, ::kiln::testing::AllDtypes);

TYPED_TEST(MovementDtypeTest, Reshape) {
  using T = TypeParam;
  Tensor x = this->make({2, 3, 4});
  Tensor r = x.reshape({4, -1});
  EXPECT_EQ(r.dtype(), dtype_of<T>);
  EXPECT_EQ(r.sizes(), (Shape{4, 6}));
  EXPECT_EQ(r.template to_vector<T>(), this->values(24));
}

TYPED_TEST(MovementDtypeTest, Permute) {
  using T = TypeParam;
  Tensor p = this->make({2, 3, 4}).permute({2, 0, 1});
  EXPECT_EQ(p.dtype(), dtype_of<T>);
  std::vector<T> want;
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t k = 0; k < 3; ++k) want.push_back(this->value(j * 12 + k * 4 + i));
  EXPECT_EQ(p.sizes(), (Shape{4, 2, 3}));
  EXPECT_EQ(p.template to_vector<T>(), want);
  EXPECT_EQ(p.contiguous().template to_vector<T>(), want);
}

TYPED_TEST(MovementDtypeTest, Slice) {
  using T = TypeParam;
  Tensor s = this->make({4, 5}).slice(1, -4, std::nullopt, 2).slice(0, 1, 4, 2);  // rows 1, 3; cols 1, 3
  EXPECT_EQ(s.dtype(), dtype_of<T>);
  EXPECT_EQ(s.sizes(), (Shape{2, 2}));
  std::vector<T> want = {this->value(6), this->value(8), this->value(16), this->value(18)};
  EXPECT_EQ(s.template to_vector<T>(), want);
}

TYPED_TEST(MovementDtypeTest, Cat) {
  using T = TypeParam;
  Tensor a = this->make({2, 3});
  Tensor b = this->make({2, 3}).slice(1, 1);  // [2, 2]
  Tensor c = cat({a, b}, 1);
  EXPECT_EQ(c.dtype(), dtype_of<T>);
  std::vector<T> want;
  for (int64_t r = 0; r < 2; ++r) {
    for (int64_t k = 0; k < 3; ++k) want.push_back(this->value(r * 3 + k));
    for (int64_t k = 1; k < 3; ++k) want.push_back(this->value(r * 3 + k));
  }
  EXPECT_EQ(c.sizes(), (Shape{2, 5}));
  EXPECT_EQ(c.template to_vector<T>(), want);
}

TYPED_TEST(MovementDtypeTest, StackAndSelect) {
  using T = TypeParam;
  Tensor a = this->make({3});
  Tensor s = stack({a, a.flatten()}, 1);  // [3, 2]
  EXPECT_EQ(s.dtype(), dtype_of<T>);
  std::vector<T> want = {this->value(0), this->value(0), this->value(1),
                         this->value(1), this->value(2), this->value(2)};
  EXPECT_EQ(s.template to_vector<T>(), want);
  EXPECT_EQ(s[2][1].template item<T>(), this->value(2));
}

TYPED_TEST(MovementDtypeTest, ExpandAndTranspose) {
  using T = TypeParam;
  Tensor e = this->make({2, 1}).expand({2, 3}).t();  // [3, 2]
  std::vector<T> want = {this->value(0), this->value(1), this->value(0),
                         this->value(1), this->value(0), this->value(1)};
  EXPECT_EQ(e.template to_vector<T>(), want);
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST(MovementErrorsTest, ReshapeToWrongNumberOfElements) {
  Tensor x = zeros({2, 3});
  EXPECT_KILN_ERROR(x.reshape({5}), "reshape", "[5]", "6", "[2, 3]");
  EXPECT_KILN_ERROR(x.reshape({4, -1}), "reshape", "[4, -1]", "6");
  EXPECT_KILN_ERROR(x.view({7}), "view", "[7]", "6");
  EXPECT_KILN_ERROR(x.reshape({-1, -1}), "reshape", "only one dimension");
  EXPECT_KILN_ERROR(x.reshape({-2, 3}), "reshape", "-2");
}

TEST(MovementErrorsTest, PermuteBadDims) {
  Tensor x = zeros({2, 3, 4});
  EXPECT_KILN_ERROR(x.permute({0, 1}), "permute", "[2, 3, 4]");
  EXPECT_KILN_ERROR(x.permute({0, 1, 1}), "permute", "repeated dim 1");
  EXPECT_KILN_ERROR(x.permute({0, 1, 3}), "permute", "3", "[2, 3, 4]");
  EXPECT_KILN_ERROR(x.permute({0, -4, 1}), "permute", "-4");
}

TEST(MovementErrorsTest, TransposeAndTBadDims) {
  Tensor x = zeros({2, 3, 4});
  EXPECT_KILN_ERROR(x.transpose(0, 3), "transpose", "3", "[2, 3, 4]");
  EXPECT_KILN_ERROR(x.transpose(-4, 0), "transpose", "-4");
  EXPECT_KILN_ERROR(x.t(), "t", "[2, 3, 4]");
}

TEST(MovementErrorsTest, SqueezeUnsqueezeBadDims) {
  Tensor x = zeros({2, 3});
  EXPECT_KILN_ERROR(x.unsqueeze(3), "unsqueeze", "3");
  EXPECT_KILN_ERROR(x.unsqueeze(-4), "unsqueeze", "-4");
  EXPECT_KILN_ERROR(x.squeeze(2), "squeeze", "2", "[2, 3]");
  EXPECT_KILN_ERROR(x.squeeze(-3), "squeeze", "-3");
}

TEST(MovementErrorsTest, FlattenBadDims) {
  Tensor x = zeros({2, 3, 4});
  EXPECT_KILN_ERROR(x.flatten(2, 1), "flatten", "start_dim");
  EXPECT_KILN_ERROR(x.flatten(0, 3), "flatten", "3", "[2, 3, 4]");
}

TEST(MovementErrorsTest, SliceNarrowBadArguments) {
  Tensor x = zeros({2, 3});
  EXPECT_KILN_ERROR(x.slice(2, 0, 1), "slice", "2", "[2, 3]");
  EXPECT_KILN_ERROR(x.slice(1, 0, 3, 0), "slice", "step");
  EXPECT_KILN_ERROR(x.slice(1, 0, 3, -1), "slice", "step");
  EXPECT_KILN_ERROR(tensor(1.0).slice(0, 0, 1), "slice", "0-dim");
  EXPECT_KILN_ERROR(x.narrow(1, 2, 2), "narrow", "[2, 3]");
  EXPECT_KILN_ERROR(x.narrow(0, -3, 1), "narrow", "-3");
  EXPECT_KILN_ERROR(x.narrow(0, 0, -1), "narrow", "-1");
}

TEST(MovementErrorsTest, ViewOnIncompatibleStrides) {
  Tensor p = zeros({2, 3, 4}).transpose(1, 2);  // sizes [2, 4, 3], strides [12, 1, 4]
  EXPECT_KILN_ERROR(p.view({2, 12}), "view", "[2, 12]", "[2, 4, 3]", "[12, 1, 4]");
  EXPECT_KILN_ERROR(p.view({-1}), "view", "[2, 4, 3]", "[12, 1, 4]");
  EXPECT_KILN_ERROR(zeros({4, 4}).slice(1, 0, 2).view({8}), "view", "[4, 2]", "[4, 1]");
}

TEST(MovementErrorsTest, BadExpand) {
  Tensor x = zeros({2, 3});
  EXPECT_KILN_ERROR(x.expand({2, 4}), "expand", "[2, 4]", "[2, 3]");
  EXPECT_KILN_ERROR(x.expand({3}), "expand", "[3]", "[2, 3]");
  EXPECT_KILN_ERROR(x.expand({4, 3}), "expand", "[4, 3]", "[2, 3]");
  EXPECT_KILN_ERROR(x.expand({-1, 2, 3}), "expand", "[-1, 2, 3]");  // -1 is not allowed in a new dim
  EXPECT_KILN_ERROR(x.expand_as(zeros({3, 3})), "expand", "[3, 3]", "[2, 3]");
}

TEST(MovementErrorsTest, SelectIndexOutOfRange) {
  Tensor x = zeros({3, 4});
  EXPECT_KILN_ERROR(x.select(0, 3), "select", "3", "[3, 4]");
  EXPECT_KILN_ERROR(x.select(1, -5), "select", "-5", "[3, 4]");
  EXPECT_KILN_ERROR(x[3], "select", "3", "[3, 4]");
  EXPECT_KILN_ERROR(x[-4], "select", "-4", "[3, 4]");
  EXPECT_KILN_ERROR(x.select(2, 0), "select", "2", "[3, 4]");
  EXPECT_KILN_ERROR(tensor(1.0)[0], "select", "0-dim");
}

TEST(MovementErrorsTest, CatShapeMismatchNamesBothShapes) {
  Tensor a = zeros({2, 3});
  EXPECT_KILN_ERROR(cat({a, zeros({2, 4})}), "cat", "[2, 3]", "[2, 4]");
  EXPECT_KILN_ERROR(cat({a, zeros({3, 3})}, 1), "cat", "[2, 3]", "[3, 3]");
  EXPECT_KILN_ERROR(cat({a, a, zeros({2, 3, 1})}), "cat", "[2, 3]", "[2, 3, 1]");
  EXPECT_KILN_ERROR(cat({a, zeros({3})}), "cat", "[2, 3]", "[3]");
}

TEST(MovementErrorsTest, CatBadDimOrInputs) {
  Tensor a = zeros({2, 3});
  EXPECT_KILN_ERROR(cat({a, a}, 2), "cat", "2", "[2, 3]");
  EXPECT_KILN_ERROR(cat({a, a}, -3), "cat", "-3");
  EXPECT_KILN_ERROR(cat({}), "cat", "non-empty");
  EXPECT_KILN_ERROR(cat({tensor(1.0), tensor(2.0)}), "cat", "zero-dimensional");
}

TEST(MovementErrorsTest, StackUnequalSizes) {
  Tensor a = zeros({2, 3});
  EXPECT_KILN_ERROR(stack({a, zeros({3, 2})}), "stack", "[2, 3]", "[3, 2]");
  EXPECT_KILN_ERROR(stack({a, a, zeros({2})}, 1), "stack", "[2, 3]", "[2]");
  EXPECT_KILN_ERROR(stack({a, a}, 3), "stack", "3");
  EXPECT_KILN_ERROR(stack({a, a}, -4), "stack", "-4");
  EXPECT_KILN_ERROR(stack({}), "stack", "non-empty");
}

}  // namespace
}  // namespace kiln
