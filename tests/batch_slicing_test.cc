// Batches sliced from one evaluated tensor, as a LibTorch training loop over an in-memory dataset
// writes them: rows sliced from the tensor are a window of its memory (a LibTorch view), so the
// graphs of every batch have one structure and only the first batch compiles kernels (a last,
// shorter one re-plans but reuses them: their batch extent is a launch argument).
#include <gtest/gtest.h>

#include <vector>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using testing::expect_tensor;

TEST(BatchSlicing, AnEpochCompilesOnlyForTheFirstAndTheLastBatch) {
  const int64_t n = 100, features = 6, batch = 16;
  std::vector<float> data(n * features);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>((i * 37) % 11) * 0.25f - 1;
  Tensor X = from_blob(data.data(), {n, features}).clone();
  Tensor w = (arange(features * 3, dtype(kFloat32)).reshape({features, 3}) * 0.1).eval();
  int64_t compiled_before_last = 0, compiled_after_first = 0;
  for (int64_t off = 0; off < n; off += batch) {
    int64_t end = std::min(off + batch, n);
    if (end - off < batch) compiled_before_last = stats().kernels_compiled;
    Tensor xb = X.slice(0, off, end);
    Tensor out = log_softmax(xb.matmul(w).relu(), 1).sum({1});
    // By hand: row r of the batch is dataset row off + r.
    std::vector<double> expected;
    for (int64_t r = off; r < end; ++r) {
      std::vector<double> h(3, 0.0);
      for (int c = 0; c < 3; ++c) {
        for (int k = 0; k < features; ++k) h[c] += data[r * features + k] * 0.1 * (k * 3 + c);
        h[c] = std::max(h[c], 0.0);
      }
      double m = std::max({h[0], h[1], h[2]}), s = 0;
      for (double v : h) s += std::exp(v - m);
      expected.push_back(h[0] + h[1] + h[2] - 3 * (m + std::log(s)));
    }
    expect_tensor<double>(out, {end - off}, expected, 1e-4);
    if (off == 0) {
      compiled_after_first = stats().kernels_compiled;
    } else if (end - off == batch) {
      EXPECT_EQ(stats().kernels_compiled, compiled_after_first) << "batch at " << off;
    }
  }
  EXPECT_EQ(compiled_before_last, compiled_after_first);
  // The last, shorter batch (4 rows) runs the same kernels: their batch extent is a launch argument.
  EXPECT_EQ(stats().kernels_compiled, compiled_after_first);
}

TEST(BatchSlicing, AWindowSharesMemoryAndFollowsWritesToItsTensor) {
  Tensor X = arange(12, dtype(kFloat64)).reshape({4, 3}).eval();
  Tensor rows = X.slice(0, 1, 3);
  Tensor row = X.select(0, 2);
  expect_tensor<double>(rows, {2, 3}, {3, 4, 5, 6, 7, 8}, 0);
  Tensor pending = rows * 2;  // recorded before the write: keeps the values it was recorded with
  X.data_ptr<double>()[4] = 40;  // LibTorch: the views see the write
  expect_tensor<double>(rows, {2, 3}, {3, 40, 5, 6, 7, 8}, 0);
  expect_tensor<double>(row, {3}, {6, 7, 8}, 0);
  expect_tensor<double>(pending, {2, 3}, {6, 8, 10, 12, 14, 16}, 0);
  rows.mul_(-1);  // an in-place op on the window writes through to X
  expect_tensor<double>(X, {4, 3}, {0, 1, 2, -3, -40, -5, -6, -7, -8, 9, 10, 11}, 0);
}

TEST(BatchSlicing, NonContiguousAndDifferentiableSlicesStaySlices) {
  Tensor X = arange(12, dtype(kFloat64)).reshape({3, 4}).eval();
  expect_tensor<double>(X.slice(1, 1, 3), {3, 2}, {1, 2, 5, 6, 9, 10}, 0);
  expect_tensor<double>(X.slice(0, 0, 3, 2), {2, 4}, {0, 1, 2, 3, 8, 9, 10, 11}, 0);
  Tensor p = X.clone().requires_grad_();
  (p.slice(0, 1, 2) * 3).sum().backward();
  expect_tensor<double>(p.grad(), {3, 4}, {0, 0, 0, 0, 3, 3, 3, 3, 0, 0, 0, 0}, 0);
}

TEST(BatchSlicing, AWindowOfUserMemoryIsCopiedByClone) {
  Tensor t;
  {
    std::vector<double> v = {1, 2, 3, 4};
    Tensor blob = from_blob(v.data(), {2, 2}, dtype(kFloat64));
    blob.eval();
    t = blob.slice(0, 1, 2).clone();
    v.assign(4, 0.0);
  }
  expect_tensor<double>(t, {1, 2}, {3, 4}, 0);
}

}  // namespace
}  // namespace kiln
