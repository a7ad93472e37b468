// Laziness: nothing runs before a value is needed, one eval of several outputs runs one graph,
// and evaluated tensors drop their graphs so long loops use bounded memory.
#include <gtest/gtest.h>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace {

using kiln::testing::expect_tensor;

TEST(Laziness, RecordingExecutesNothing) {
  kiln::Stats before = kiln::stats();
  auto x = kiln::randn({64, 32});
  auto y = kiln::softmax(x.matmul(x.t()).relu() + 1.0, 1).sum({0});
  (void)y.sizes();  // shape and dtype are known without running anything
  EXPECT_EQ(y.sizes(), kiln::Shape({64}));
  EXPECT_EQ(y.dtype(), kiln::kFloat32);
  kiln::Stats after = kiln::stats();
  EXPECT_EQ(after.graphs_evaluated, before.graphs_evaluated);
  EXPECT_EQ(after.nodes_evaluated, before.nodes_evaluated);
}

TEST(Laziness, EachWayOfNeedingAValueEvaluates) {
  auto make = [] { return kiln::arange(6, kiln::dtype(kiln::kFloat64)).reshape({2, 3}) * 2; };
  int64_t graphs = kiln::stats().graphs_evaluated;
  EXPECT_EQ(make().sum().item<double>(), 30.0);
  EXPECT_EQ(kiln::stats().graphs_evaluated, graphs + 1);
  EXPECT_EQ(make().to_vector<double>(), (std::vector<double>{0, 2, 4, 6, 8, 10}));
  EXPECT_EQ(kiln::stats().graphs_evaluated, graphs + 2);
  EXPECT_EQ(make().data_ptr<double>()[5], 10.0);
  EXPECT_EQ(kiln::stats().graphs_evaluated, graphs + 3);
  std::ostringstream os;
  os << make();
  EXPECT_EQ(kiln::stats().graphs_evaluated, graphs + 4);
  make().eval();
  EXPECT_EQ(kiln::stats().graphs_evaluated, graphs + 5);
}

TEST(Laziness, OneEvalOfSeveralOutputsRunsOneGraphAndSharesWork) {
  auto x = kiln::arange(4, kiln::dtype(kiln::kFloat32)).exp();  // shared by both outputs
  auto a = x + 1;
  auto b = x * 2;
  kiln::Stats before = kiln::stats();
  kiln::eval({a, b});
  kiln::Stats after = kiln::stats();
  EXPECT_EQ(after.graphs_evaluated, before.graphs_evaluated + 1);
  // iota, exp, two constants, add, mul: the shared exp runs once.
  EXPECT_EQ(after.nodes_evaluated - before.nodes_evaluated, 6);
  expect_tensor<double>(a, {4}, {2, 1 + std::exp(1.0), 1 + std::exp(2.0), 1 + std::exp(3.0)}, 1e-6);
  expect_tensor<double>(b, {4}, {2, 2 * std::exp(1.0), 2 * std::exp(2.0), 2 * std::exp(3.0)}, 1e-6);
  // Both were materialized by that one evaluation: reading them runs nothing more.
  EXPECT_EQ(kiln::stats().graphs_evaluated, after.graphs_evaluated);
}

TEST(Laziness, EvaluatedTensorKeepsItsBufferAndDropsItsGraph) {
  auto x = kiln::ones({8});
  int64_t nodes = kiln::stats().live_nodes;
  auto y = ((x + 1) * 3).exp().log();
  EXPECT_GT(kiln::stats().live_nodes, nodes + 4);
  y.eval();
  // y's node became a buffer; the intermediate nodes are gone. x keeps its own node.
  EXPECT_EQ(kiln::stats().live_nodes, nodes + 1);
  int64_t graphs = kiln::stats().graphs_evaluated;
  expect_tensor<float>(y, {8}, std::vector<float>(8, 6.0f), 1e-6);
  EXPECT_EQ(kiln::stats().graphs_evaluated, graphs);
}

TEST(Laziness, LaterGraphsReuseAnEvaluatedIntermediate) {
  auto x = kiln::arange(5, kiln::dtype(kiln::kFloat64)).exp();
  x.eval();
  int64_t nodes = kiln::stats().nodes_evaluated;
  auto y = x + x;
  y.eval();
  EXPECT_EQ(kiln::stats().nodes_evaluated - nodes, 1);  // just the add
}

TEST(Laziness, TenThousandEvaluatedStepsUseBoundedMemory) {
  auto x = kiln::zeros({1024}, kiln::dtype(kiln::kFloat64));
  auto w = kiln::full({1024}, 0.5, kiln::dtype(kiln::kFloat64));
  x.eval();
  w.eval();
  kiln::Stats start = kiln::stats();
  for (int step = 0; step < 10000; ++step) {
    x = x * w + 1.0;  // converges to 2
    x.eval();
    if (step == 10) start = kiln::stats();
  }
  kiln::Stats end = kiln::stats();
  EXPECT_EQ(end.live_nodes, start.live_nodes);
  EXPECT_EQ(end.live_bytes, start.live_bytes);
  EXPECT_LE(end.live_bytes, 4 * 1024 * 8);
  EXPECT_DOUBLE_EQ(x.to_vector<double>()[17], 2.0);
}

TEST(Laziness, InPlaceUpdatesInALoopUseBoundedMemory) {
  auto x = kiln::ones({256});
  x.eval();
  kiln::Stats start{};
  for (int step = 0; step < 10000; ++step) {
    x.mul_(0.5).add_(1.0);
    x.eval();
    if (step == 10) start = kiln::stats();
  }
  EXPECT_EQ(kiln::stats().live_nodes, start.live_nodes);
  EXPECT_EQ(kiln::stats().live_bytes, start.live_bytes);
  EXPECT_FLOAT_EQ(x[3].item<float>(), 2.0f);
}

TEST(Laziness, DeepUnevaluatedChainsAreFreedWithoutRecursion) {
  int64_t nodes = kiln::stats().live_nodes;
  {
    auto x = kiln::zeros({2});
    for (int i = 0; i < 200000; ++i) x = x + 1;
    EXPECT_GT(kiln::stats().live_nodes, nodes + 200000);
  }
  EXPECT_EQ(kiln::stats().live_nodes, nodes);
}

TEST(Laziness, DeepChainEvaluatesWithoutRecursion) {
  auto x = kiln::zeros({2}, kiln::dtype(kiln::kInt64));
  for (int i = 0; i < 50000; ++i) x = x + 1;
  expect_tensor<int64_t>(x, {2}, {50000, 50000});
}

TEST(Laziness, DataPtrWritesAreSeenByTheTensorAndLaterGraphs) {
  auto x = kiln::zeros({3});
  float* p = x.data_ptr<float>();
  p[1] = 7;
  EXPECT_EQ(x.data_ptr<float>(), p);  // its own buffer, not a copy
  expect_tensor<float>(x, {3}, {0, 7, 0});
  expect_tensor<float>(x * 2, {3}, {0, 14, 0});
}

TEST(Laziness, DataPtrWritesDoNotChangeGraphsRecordedBefore) {
  auto x = kiln::zeros({3});
  x.eval();
  auto y = x + 1;  // recorded while x is all zeros, as PyTorch would have computed it
  x.data_ptr<float>()[0] = 5;
  expect_tensor<float>(y, {3}, {1, 1, 1});
  expect_tensor<float>(x, {3}, {5, 0, 0});
}

TEST(Laziness, FromBlobSharesMemoryWithTheCaller) {
  std::vector<double> data = {1, 2, 3, 4, 5, 6};
  auto t = kiln::from_blob(data.data(), {2, 3}, kiln::dtype(kiln::kFloat64));
  EXPECT_EQ(t.data_ptr<double>(), data.data());
  t.data_ptr<double>()[4] = 50;
  EXPECT_EQ(data[4], 50);
  data[0] = -1;
  expect_tensor<double>(t.sum({1}), {2}, {-1 + 2 + 3, 4 + 50 + 6});
}

}  // namespace
