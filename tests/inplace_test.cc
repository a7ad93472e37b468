// In-place ops under lazy recording, and their interplay with views, checked against what
// PyTorch computes for the same programs (values worked out by hand).
#include <gtest/gtest.h>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace {

using kiln::testing::expect_tensor;

kiln::Tensor iota(const kiln::Shape& shape, kiln::ScalarType t = kiln::kFloat32) {
  return kiln::arange(kiln::numel(shape), kiln::dtype(t)).reshape(shape).contiguous();
}

TEST(InPlace, ArithmeticRebindsTheTensor) {
  auto x = iota({4});
  auto& r = x.add_(1).mul_(2).sub_(kiln::ones({4}), 3).div_(2);
  EXPECT_EQ(&r, &x);
  expect_tensor<float>(x, {4}, {-0.5f, 0.5f, 1.5f, 2.5f});
}

TEST(InPlace, OperatorsAndBroadcastOperand) {
  auto x = iota({2, 3}, kiln::kFloat64);
  x += kiln::tensor({10.0, 20.0, 30.0}, kiln::dtype(kiln::kFloat64));
  x *= 2;
  x -= 1;
  x /= 4;
  expect_tensor<double>(x, {2, 3}, {19 / 4.0, 41 / 4.0, 63 / 4.0, 25 / 4.0, 47 / 4.0, 69 / 4.0});
}

TEST(InPlace, OtherHandlesOfTheSameTensorSeeTheChange) {
  auto x = kiln::zeros({2});
  kiln::Tensor alias = x;  // a handle copy, as with torch::Tensor
  x.fill_(3);
  expect_tensor<float>(alias, {2}, {3, 3});
}

TEST(InPlace, GraphsRecordedBeforeKeepTheOldValue) {
  auto x = kiln::ones({3});
  auto y = x * 5;  // PyTorch computes this before the update below
  x.add_(1);
  expect_tensor<float>(y, {3}, {5, 5, 5});
  expect_tensor<float>(x, {3}, {2, 2, 2});
}

TEST(InPlace, IntegerTensorKeepsItsDtype) {
  auto x = kiln::arange(4, kiln::dtype(kiln::kInt32));
  x.mul_(3).add_(kiln::full({4}, 1, kiln::dtype(kiln::kInt64)));
  EXPECT_EQ(x.dtype(), kiln::kInt32);
  expect_tensor<int>(x, {4}, {1, 4, 7, 10});
}

TEST(InPlace, ZeroFillClampCopy) {
  auto x = iota({2, 2});
  x.clamp_(0.5, 2.5);
  expect_tensor<float>(x, {2, 2}, {0.5f, 1, 2, 2.5f});
  x.copy_(kiln::tensor({7, 8}));  // broadcasts and converts int64 -> float32
  expect_tensor<float>(x, {2, 2}, {7, 8, 7, 8});
  x.zero_();
  expect_tensor<float>(x, {2, 2}, {0, 0, 0, 0});
  x.fill_(true);
  expect_tensor<float>(x, {2, 2}, {1, 1, 1, 1});
}

TEST(InPlaceOnViews, SliceWritesThroughToTheBase) {
  auto base = iota({3, 4});
  auto column = base.slice(1, 1, 2);  // x[:, 1:2]
  column.mul_(-1);
  expect_tensor<float>(base, {3, 4}, {0, -1, 2, 3, 4, -5, 6, 7, 8, -9, 10, 11});
  expect_tensor<float>(column, {3, 1}, {-1, -5, -9});
}

TEST(InPlaceOnViews, SteppedSliceOfATransposeWritesThrough) {
  auto base = iota({2, 5});
  auto v = base.t().slice(0, 0, 5, 2);  // x.t()[::2] -> rows 0, 2, 4 of the transpose
  v.fill_(100);
  expect_tensor<float>(base, {2, 5}, {100, 1, 100, 3, 100, 100, 6, 100, 8, 100});
}

TEST(InPlaceOnViews, SelectAndIndexWriteThrough) {
  auto base = iota({2, 3}, kiln::kInt64);
  base[1].add_(10);
  base.select(1, 0).zero_();
  expect_tensor<int64_t>(base, {2, 3}, {0, 1, 2, 0, 14, 15});
}

TEST(InPlaceOnViews, ReshapeViewWritesThroughAndDetachShares) {
  auto base = iota({2, 3});
  base.view({3, 2}).select(0, 2).fill_(-1);  // elements 4 and 5
  base.detach().select(1, 0).fill_(9);       // detach shares memory as in PyTorch
  expect_tensor<float>(base, {2, 3}, {9, 1, 2, 9, -1, -1});
}

TEST(InPlaceOnViews, BaseChangesAreSeenBySiblingViews) {
  auto base = iota({4});
  auto head = base.slice(0, 0, 2);
  auto tail = base.slice(0, 2, 4);
  expect_tensor<float>(head, {2}, {0, 1});  // evaluated before the change
  base.add_(10);
  expect_tensor<float>(head, {2}, {10, 11});
  tail.mul_(2);
  expect_tensor<float>(head, {2}, {10, 11});
  expect_tensor<float>(base, {4}, {10, 11, 24, 26});
}

TEST(InPlaceOnViews, ViewOfAViewWritesToTheRoot) {
  auto base = iota({2, 2, 3});
  auto inner = base.select(0, 1).slice(1, 1, 3).t();  // [2, 2] view of base[1, :, 1:3]
  inner.copy_(kiln::tensor({1.0, 2.0, 3.0, 4.0}).view({2, 2}));
  // inner[i][j] = base[1][j][1 + i]
  expect_tensor<float>(base, {2, 2, 3}, {0, 1, 2, 3, 4, 5, 6, 1, 3, 9, 2, 4});
}

TEST(InPlaceOnViews, ReshapeThatCopiesIsNotAView) {
  auto base = iota({2, 3});
  auto copy = base.t().reshape({6});  // not viewable: PyTorch copies
  copy.fill_(0);
  expect_tensor<float>(base, {2, 3}, {0, 1, 2, 3, 4, 5});
}

TEST(InPlaceOnViews, ExpandedViewRejectsWrites) {
  auto base = iota({1, 3});
  auto wide = base.expand({4, 3});
  EXPECT_KILN_ERROR(wide.add_(1), "add_", "expanded");
  expect_tensor<float>(base, {1, 3}, {0, 1, 2});  // unchanged
}

TEST(InPlaceOnViews, DataPtrOfAViewPointsIntoTheBase) {
  auto base = iota({3, 4});
  auto row = base.select(0, 2);
  float* p = row.data_ptr<float>();
  EXPECT_EQ(p, base.data_ptr<float>() + 8);
  p[1] = 42;
  expect_tensor<float>(row, {4}, {8, 42, 10, 11});
  EXPECT_EQ(base.strides(), kiln::Shape({4, 1}));
  EXPECT_EQ(base.t().strides(), kiln::Shape({1, 4}));
}

TEST(InPlaceErrors, FailedOpsLeaveTheTensorUnchanged) {
  auto x = kiln::arange(3, kiln::dtype(kiln::kInt64));
  EXPECT_KILN_ERROR(x.add_(0.5), "add_", "float32", "int64");
  EXPECT_KILN_ERROR(x.div_(2), "div_", "float32", "int64");
  EXPECT_KILN_ERROR(x.add_(kiln::ones({2, 3}, kiln::dtype(kiln::kInt64))), "add_", "[3]", "[2, 3]");
  EXPECT_KILN_ERROR((x.copy_(kiln::ones({2}))), "copy_", "[2]", "[3]");
  EXPECT_EQ(x.dtype(), kiln::kInt64);
  expect_tensor<int64_t>(x, {3}, {0, 1, 2});
}

}  // namespace
