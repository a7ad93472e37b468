// A new batch size re-plans the graph but compiles no kernel: each kernel's leading (batch)
// extent is a launch argument (codegen/runtime_extent.h), so a training step at batch 256, then
// 100, 1 and 1000 runs the kernels compiled for the first, with the reference executor's numbers.
#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <vector>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using testing::expect_tensor;

// A 3-layer MLP trained with SGD on batches sliced from one dataset tensor, as a LibTorch user
// writes it (weights [in, out]).
struct Mlp {
  Tensor X, Y;  // the dataset: features and one-hot labels
  std::vector<Tensor> p;

  Mlp() {
    manual_seed(7);
    X = randn({1400, 24});
    Y = one_hot_rows(1400, 10);
    auto param = [](Shape shape, double scale) { return (randn(shape) * scale).eval().clone().requires_grad_(); };
    p = {param({24, 48}, 0.2), param({48}, 0.1), param({48, 48}, 0.2),
         param({48}, 0.1),     param({48, 10}, 0.2), param({10}, 0.1)};
    X.eval();
  }

  static Tensor one_hot_rows(int64_t rows, int64_t classes) {
    std::vector<float> v(rows * classes, 0.f);
    for (int64_t i = 0; i < rows; ++i) v[i * classes + (i * 7) % classes] = 1.f;
    return from_blob(v.data(), {rows, classes}).clone();
  }

  double step(int64_t offset, int64_t batch) {
    Tensor x = X.slice(0, offset, offset + batch), target = Y.slice(0, offset, offset + batch);
    Tensor h1 = (x.matmul(p[0]) + p[1]).relu();
    Tensor h2 = (h1.matmul(p[2]) + p[3]).relu();
    Tensor logits = h2.matmul(p[4]) + p[5];
    Tensor loss = -(log_softmax(logits, 1) * target).sum() / static_cast<double>(batch);
    loss.backward();
    NoGradGuard no_grad;
    for (Tensor& q : p) {
      q.sub_(q.grad() * 0.05);
      q.mutable_grad() = Tensor();
    }
    return loss.item<double>();
  }
};

struct Training {
  std::vector<double> losses;
  std::vector<int64_t> compiled;  // kernels compiled by each step
  std::vector<Tensor> params;
};

Training train(const std::vector<int64_t>& batches) {
  Mlp m;
  Training run;
  int64_t offset = 0;
  for (int64_t b : batches) {
    int64_t before = stats().kernels_compiled;
    run.losses.push_back(m.step(offset, b));
    run.compiled.push_back(stats().kernels_compiled - before);
    offset = (offset + 37) % 300;
  }
  eval(m.p);
  run.params = m.p;
  return run;
}

TEST(BatchSizes, ATrainingStepAtNewBatchSizesCompilesOnlyForTheFirst) {
  const std::vector<int64_t> batches = {256, 256, 100, 1, 1000, 100, 1};
  Training jit = train(batches);
  Training reference = [&] {
    BackendGuard on(Backend::Reference);
    return train(batches);
  }();
  // Step 1 compiles the forward and backward kernels, step 2 the SGD updates it now contains;
  // every later step, whatever its batch size, compiles nothing, but for the first at batch 1:
  // there a sum over the batch is a reshape (the simplifier drops sums over one element), so the
  // hidden layers' ReLU masks, which the bias gradients' sums write at other batch sizes, get a
  // kernel of their own, once (one kernel: both layers are 48 wide).
  EXPECT_GT(jit.compiled[0], 0);
  for (size_t s = 2; s < batches.size(); ++s)
    EXPECT_EQ(jit.compiled[s], s == 3 ? 1 : 0) << "step " << s << " at batch " << batches[s];
  for (size_t s = 0; s < batches.size(); ++s) EXPECT_NEAR(jit.losses[s], reference.losses[s], 1e-4) << "step " << s;
  for (size_t i = 0; i < jit.params.size(); ++i) {
    std::vector<float> a = jit.params[i].to_vector<float>(), b = reference.params[i].to_vector<float>();
    ASSERT_EQ(a.size(), b.size());
    for (size_t j = 0; j < a.size(); ++j) ASSERT_NEAR(a[j], b[j], 1e-4) << "parameter " << i << " element " << j;
  }
}

TEST(BatchSizes, SoftmaxAtBatch8Then16Then24CompilesOnce) {
  std::vector<int64_t> compiled;
  for (int64_t rows : {8, 16, 24}) {
    int64_t before = stats().kernels_compiled;
    Tensor x = (arange(rows * 5, dtype(kFloat64)).reshape({rows, 5}) * 0.3).sin();
    Tensor y = softmax(x, 1);
    std::vector<double> expected;
    for (int64_t r = 0; r < rows; ++r) {
      double m = -1e300, s = 0;
      for (int c = 0; c < 5; ++c) m = std::max(m, std::sin((r * 5 + c) * 0.3));
      for (int c = 0; c < 5; ++c) s += std::exp(std::sin((r * 5 + c) * 0.3) - m);
      for (int c = 0; c < 5; ++c) expected.push_back(std::exp(std::sin((r * 5 + c) * 0.3) - m) / s);
    }
    expect_tensor<double>(y, {rows, 5}, expected, 1e-12);
    compiled.push_back(stats().kernels_compiled - before);
  }
  EXPECT_EQ(compiled[1], 0);
  EXPECT_EQ(compiled[2], 0);
}

// Programs over a batch of B rows, each exercising one way kernels index the batch axis. Every
// batch size must give the reference executor's numbers; `batch_free` programs compile nothing
// after their first batch size.
struct BatchProgram {
  const char* name;
  bool batch_free;
  std::function<Tensor(const Tensor& x)> run;  // x: [B, 6] float64
};

TEST(BatchSizes, EveryKindOfKernelMatchesTheReferenceAtEveryBatchSize) {
  Tensor bias = (arange(6, dtype(kFloat64)) * 0.25 - 0.5).eval();
  const std::vector<BatchProgram> programs = {
      {"bias and activation", true, [&](const Tensor& x) { return (x + bias).tanh() * 2; }},
      {"row softmax", true, [](const Tensor& x) { return softmax(x, 1); }},
      {"column sums", true, [](const Tensor& x) { return (x * x).sum({0}); }},
      {"mean of everything", true, [](const Tensor& x) { return x.exp().mean(); }},
      // The batch is not the transposed kernel's leading axis: its extent is compiled in.
      {"transpose", false, [](const Tensor& x) { return x.t().contiguous() + 1; }},
      {"reshape keeping the batch", true, [](const Tensor& x) { return x.reshape({-1, 2, 3}).sum({2}); }},
      {"slice and pad of features", true, [](const Tensor& x) { return cat({x.slice(1, 1, 4), x.slice(1, 0, 2) * 3}, 1); }},
      {"rows' mean with where", true, [](const Tensor& x) { return where(x > x.mean({1}, true), x, x * 0.1); }},
      {"batch merged into one axis", false, [](const Tensor& x) { return x.reshape({-1}).slice(0, 1) * 2; }},
  };
  for (const BatchProgram& p : programs) {
    int64_t compiled_after_first = -1;
    for (int64_t rows : {5, 1, 2, 17, 64}) {
      auto input = [&] { return (arange(rows * 6, dtype(kFloat64)).reshape({rows, 6}) * 0.37).sin(); };
      std::vector<double> want = [&] {
        BackendGuard on(Backend::Reference);
        return p.run(input()).to_vector<double>();
      }();
      Tensor x = input().eval();
      std::vector<double> got = p.run(x).to_vector<double>();
      ASSERT_EQ(got.size(), want.size()) << p.name << " at batch " << rows;
      for (size_t i = 0; i < got.size(); ++i)
        ASSERT_NEAR(got[i], want[i], 1e-12 * (1 + std::abs(want[i]))) << p.name << " at batch " << rows << ", " << i;
      if (compiled_after_first < 0) compiled_after_first = stats().kernels_compiled;
    }
    if (p.batch_free) {
      EXPECT_EQ(stats().kernels_compiled, compiled_after_first) << p.name;
    }
  }
}

TEST(BatchSizes, SpecializedKernelsCompileAgainAndComputeTheSame) {
  std::vector<int64_t> compiled;
  RuntimeExtentsGuard specialized(false);
  for (int64_t rows : {3, 5}) {
    int64_t before = stats().kernels_compiled;
    Tensor x = arange(rows * 4, dtype(kFloat64)).reshape({rows, 4});
    Tensor y = (x * 0.5 + 1).exp().sum({1});
    std::vector<double> expected;
    for (int64_t r = 0; r < rows; ++r) {
      double s = 0;
      for (int c = 0; c < 4; ++c) s += std::exp((r * 4 + c) * 0.5 + 1);
      expected.push_back(s);
    }
    expect_tensor<double>(y, {rows}, expected, 1e-12);
    compiled.push_back(stats().kernels_compiled - before);
  }
  EXPECT_GT(compiled[1], 0);  // batch 5 compiles its own kernel when extents are compiled in
}

}  // namespace
}  // namespace kiln
