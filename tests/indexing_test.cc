// LibTorch's indexing on Kiln, written as a LibTorch user writes it: t.index({Slice(), 1}),
// index_put_ with masks and positions, index_select, gather, scatter(_add), masked_fill,
// take_along_dim, and the data-dependent sort, argsort, topk, nonzero and masked_select.
// Expected values are hand-computed (LibTorch 1.13 prints the same); gradients are checked
// against float64 finite differences.
#include <gtest/gtest.h>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using autograd::gradcheck;
using autograd::tensor_list;
using indexing::Ellipsis;
using indexing::None;
using indexing::Slice;
using testing::expect_tensor;
using testing::kNaN;

Tensor grid() { return arange(12, dtype(kFloat64)).reshape({3, 4}); }  // rows 0..3, 4..7, 8..11

TEST(Index, BasicIndicesAreViews) {
  Tensor x = grid();
  expect_tensor<double>(x.index({Slice(), 1}), {3}, {1, 5, 9});
  expect_tensor<double>(x.index({1}), {4}, {4, 5, 6, 7});
  expect_tensor<double>(x.index({Slice(1, None), Slice(None, None, 2)}), {2, 2}, {4, 6, 8, 10});
  expect_tensor<double>(x.index({Ellipsis, -1}), {3}, {3, 7, 11});
  expect_tensor<double>(x.index({"...", Slice(-2)}), {3, 2}, {2, 3, 6, 7, 10, 11});
  expect_tensor<double>(x.index({None, 2, Slice(0, 2)}), {1, 2}, {8, 9});
  Tensor view = x.index({Slice(), 0});
  view.fill_(-1);  // a view: writes the base, as LibTorch's
  expect_tensor<double>(x.index({Slice(), 0}), {3}, {-1, -1, -1});
  EXPECT_KILN_ERROR(x.index({0, 0, 0}), "index", "too many indices");
  EXPECT_KILN_ERROR(x.index({5}), "select", "5");
}

TEST(Index, TensorIndicesPickPositionsAndMasks) {
  Tensor x = grid();
  expect_tensor<double>(x.index({tensor({2, 0})}), {2, 4}, {8, 9, 10, 11, 0, 1, 2, 3});
  expect_tensor<double>(x.index({Slice(), tensor({-1, 1})}), {3, 2}, {3, 1, 7, 5, 11, 9});
  expect_tensor<double>(x.index({tensor({0, 2}), tensor({1, 3})}), {2}, {1, 11});
  expect_tensor<double>(x.index({x > 8}), {3}, {9, 10, 11});
  expect_tensor<double>(x.index({tensor({true, false, true})}), {2, 4}, {0, 1, 2, 3, 8, 9, 10, 11});
  expect_tensor<double>(x.index({tensor({{1, 2}, {0, 0}})}).sum({2}), {2, 2}, {22, 38, 6, 6});
}

TEST(IndexPut, ViewsMasksAndPositions) {
  Tensor x = zeros({3, 4}, dtype(kFloat64));
  x.index_put_({Slice(), 1}, 5);  // x[:, 1] = 5
  x.index_put_({0}, tensor({1.0, 2.0, 3.0, 4.0}, dtype(kFloat64)));
  expect_tensor<double>(x, {3, 4}, {1, 2, 3, 4, 0, 5, 0, 0, 0, 5, 0, 0});
  x.index_put_({x > 2}, 0);  // x[x > 2] = 0
  expect_tensor<double>(x, {3, 4}, {1, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0});
  x.index_put_({tensor({2, 0})}, tensor({7.0}, dtype(kFloat64)));  // rows 2 and 0
  expect_tensor<double>(x, {3, 4}, {7, 7, 7, 7, 0, 0, 0, 0, 7, 7, 7, 7});
  Tensor counts = zeros({3}, dtype(kInt64));
  counts.index_put_({tensor({0, 2, 0})}, tensor({1}), /*accumulate=*/true);
  expect_tensor<int64_t>(counts, {3}, {2, 0, 1});
}

TEST(IndexSelectGather, ValuesAndErrors) {
  Tensor x = grid();
  expect_tensor<double>(x.index_select(1, tensor({3, 0, 3})), {3, 3}, {3, 0, 3, 7, 4, 7, 11, 8, 11});
  expect_tensor<double>(index_select(x, 0, tensor({1})), {1, 4}, {4, 5, 6, 7});
  Tensor idx = tensor({{0, 0}, {1, 0}, {3, 2}});
  expect_tensor<double>(x.gather(1, idx), {3, 2}, {0, 0, 5, 4, 11, 10});
  expect_tensor<double>(x.take_along_dim(x.argmax(1, true), 1), {3, 1}, {3, 7, 11});
  expect_tensor<double>(x.take_along_dim(tensor({0, 11})), {2}, {0, 11});
  EXPECT_KILN_ERROR(x.index_select(1, tensor({4})), "index_select", "index 4 is out of bounds");
  EXPECT_KILN_ERROR(x.gather(1, tensor({1})), "gather", "rank");
  EXPECT_KILN_ERROR(x.index_select(0, tensor({0.5})), "index_select", "integer index");
  Tensor with_inf = tensor({1.0, std::numeric_limits<double>::infinity(), kNaN}, dtype(kFloat64));
  expect_tensor<double>(with_inf.index_select(0, tensor({0})), {1}, {1});  // no 0 * inf
}

TEST(Scatter, ScatterScatterAddAndMaskedFill) {
  Tensor x = zeros({3, 4}, dtype(kFloat64));
  Tensor src = arange(1, 7, dtype(kFloat64)).reshape({2, 3});
  expect_tensor<double>(x.scatter(1, tensor({{0, 1}, {2, 3}}), src), {3, 4}, {1, 2, 0, 0, 0, 0, 4, 5, 0, 0, 0, 0});
  expect_tensor<double>(x.scatter_add(0, tensor({{0, 1, 0}, {0, 2, 2}}), src), {3, 4},
                        {5, 0, 3, 0, 0, 2, 0, 0, 0, 5, 6, 0});
  expect_tensor<double>(x.scatter(0, tensor({{2}}), 9.0), {3, 4}, {0, 0, 0, 0, 0, 0, 0, 0, 9, 0, 0, 0});
  Tensor g = grid();
  expect_tensor<double>(g.masked_fill(tensor({true, false, false, true, false, false, true, false, false, true, false, false}).reshape({3, 4}), 0), {3, 4}, {0, 1, 2, 0, 4, 5, 0, 7, 8, 0, 10, 11});
}

TEST(DataDependent, SortTopkNonzeroMaskedSelect) {
  Tensor x = tensor({3.0, kNaN, -1.0, 3.0, 2.0}, dtype(kFloat64));
  auto [values, positions] = x.sort();
  expect_tensor<double>(values, {5}, {-1, 2, 3, 3, kNaN});  // NaN last, ties stable
  expect_tensor<int64_t>(positions, {5}, {2, 4, 0, 3, 1});
  expect_tensor<int64_t>(x.argsort(0, true), {5}, {1, 0, 3, 4, 2});
  Tensor m = tensor({{4.0, 1.0, 3.0}, {0.0, 9.0, 5.0}}, dtype(kFloat64));
  auto [top, at] = m.topk(2);
  expect_tensor<double>(top, {2, 2}, {4, 3, 9, 5});
  expect_tensor<int64_t>(at, {2, 2}, {0, 2, 1, 2});
  expect_tensor<double>(std::get<0>(m.topk(1, 0, false)), {1, 3}, {0, 1, 3});
  expect_tensor<int64_t>(m.gt(3).nonzero(), {3, 2}, {0, 0, 1, 1, 1, 2});
  expect_tensor<double>(m.masked_select(m > 3), {3}, {4, 9, 5});
  expect_tensor<double>(m.masked_select(tensor({true, false, true})), {4}, {4, 3, 0, 5});
  EXPECT_KILN_ERROR(m.topk(4), "topk", "out of range");
}

TEST(IndexingGradients, MatchFiniteDifferences) {
  manual_seed(9);
  Tensor x = testing::random_leaf({3, 4});
  Tensor idx = tensor({{0, 3}, {1, 1}, {2, 0}});
  EXPECT_TRUE(gradcheck([&](const tensor_list& t) { return tensor_list{t[0].gather(1, idx)}; }, {x}));
  EXPECT_TRUE(gradcheck([&](const tensor_list& t) { return tensor_list{t[0].index_select(0, tensor({2, 2, 0}))}; }, {x}));
  EXPECT_TRUE(gradcheck([&](const tensor_list& t) { return tensor_list{t[0].index({Slice(), tensor({1, 3})})}; }, {x}));
  EXPECT_TRUE(gradcheck([&](const tensor_list& t) { return tensor_list{std::get<0>(t[0].sort(1))}; }, {x}));
  EXPECT_TRUE(gradcheck([&](const tensor_list& t) { return tensor_list{std::get<0>(t[0].topk(2, 0))}; }, {x}));
  Tensor src = testing::random_leaf({2, 4});
  EXPECT_TRUE(gradcheck(
      [&](const tensor_list& t) { return tensor_list{t[0].scatter_add(0, tensor({{0, 1, 2, 0}, {2, 2, 1, 0}}), t[1])}; },
      {x, src}));
  EXPECT_TRUE(gradcheck([&](const tensor_list& t) { return tensor_list{t[0].masked_select(t[0].detach() > 0)}; }, {x}));
}

}  // namespace
}  // namespace kiln
