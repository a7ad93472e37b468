// Forward and backward as one fused graph: the kernels a 3-layer MLP's training step compiles
// into, that a repeated step compiles nothing, and that fused, unfused and reference execution of
// the same steps agree.
#include <gtest/gtest.h>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace kiln {
namespace {

struct Mlp {
  Tensor x, target, w1, b1, w2, b2, w3, b3;

  Mlp() {
    manual_seed(42);
    x = randn({64, 32});
    target = (rand({64, 10}) > 0.9).to(kFloat32);
    auto param = [](Shape shape, double scale) { return (randn(shape) * scale).eval().clone().requires_grad_(); };
    w1 = param({32, 64}, 0.2), b1 = param({64}, 0.1);
    w2 = param({64, 64}, 0.2), b2 = param({64}, 0.1);
    w3 = param({64, 10}, 0.2), b3 = param({10}, 0.1);
    eval({x, target, w1, b1, w2, b2, w3, b3});
  }
  std::vector<Tensor*> params() { return {&w1, &b1, &w2, &b2, &w3, &b3}; }

  // One SGD step; the update is recorded lazily and runs inside the next step's graph.
  Tensor step() {
    Tensor h1 = (x.matmul(w1) + b1).relu();
    Tensor h2 = (h1.matmul(w2) + b2).relu();
    Tensor logits = h2.matmul(w3) + b3;
    Tensor loss = -(log_softmax(logits, 1) * target).sum() / 64.0;
    loss.backward();
    NoGradGuard no_grad;
    for (Tensor* p : params()) {
      p->sub_(p->grad() * 0.1);
      p->mutable_grad() = Tensor();
    }
    return loss;
  }
};

struct StepCost {
  int64_t graphs, kernels, compiled;
};
StepCost measure(Mlp& m) {
  Stats before = stats();
  m.step();
  Stats after = stats();
  return {after.graphs_evaluated - before.graphs_evaluated, after.kernels_launched - before.kernels_launched,
          after.kernels_compiled - before.kernels_compiled};
}

TEST(AutogradFusion, MlpTrainingStepCompilesToAFixedSetOfKernels) {
  FusionGuard fused(true);
  Mlp m;
  // Step 1, parameters in buffers: 9 kernels beside the 8 BLAS matmuls (5 forward; 4 backward,
  // none for x, which does not require grad). Forward: bias+relu twice (2), log_softmax's row max
  // and row sum of exp (2), the loss's sum with its scaling as epilogue (1). Backward:
  // log_softmax's gradient (1), the output bias gradient's column sum (1), and for each hidden
  // layer one kernel that sums the bias gradient over the batch and writes the ReLU-masked
  // gradient it sums for the two matmuls (2).
  StepCost first = measure(m);
  EXPECT_EQ(first.graphs, 1);
  EXPECT_EQ(first.kernels, 9);
  // From step 2 the previous step's SGD updates are part of the graph: one kernel per parameter.
  StepCost second = measure(m);
  EXPECT_EQ(second.graphs, 1);
  EXPECT_EQ(second.kernels, 15);
  // The same step again: nothing to compile.
  for (int i = 0; i < 3; ++i) {
    StepCost again = measure(m);
    EXPECT_EQ(again.graphs, 1);
    EXPECT_EQ(again.kernels, 15);
    EXPECT_EQ(again.compiled, 0);
  }
}

// Linear's weight is used transposed (x w^T): its gradient (x^T g)^T is computed as the product
// g^T x, BLAS reading g transposed in place, with no transposing kernel after it.
TEST(AutogradFusion, TransposedWeightsGradientIsOneProductWithoutACopy) {
  FusionGuard fused(true);
  manual_seed(3);
  Tensor x = randn({8, 5}).eval(), g = randn({8, 3}).eval();
  Tensor w = randn({3, 5}).eval().clone().requires_grad_();
  Tensor y = x.matmul(w.t());
  Stats before = stats();
  y.backward(g);
  EXPECT_EQ(stats().kernels_launched - before.kernels_launched, 0);
  std::vector<float> xs = x.to_vector<float>(), gs = g.to_vector<float>(), got = w.grad().to_vector<float>();
  for (int o = 0; o < 3; ++o)
    for (int i = 0; i < 5; ++i) {
      double want = 0;
      for (int n = 0; n < 8; ++n) want += double(gs[n * 3 + o]) * xs[n * 5 + i];
      EXPECT_NEAR(got[o * 5 + i], want, 1e-5) << o << " " << i;
    }
}

TEST(AutogradFusion, FusedUnfusedAndReferenceTrainTheSame) {
  auto train = [](Backend backend, bool fuse) {
    BackendGuard on(backend);
    FusionGuard fusion(fuse);
    Mlp m;
    std::vector<double> losses;
    for (int i = 0; i < 4; ++i) losses.push_back(m.step().item<double>());
    for (Tensor* p : m.params()) {
      std::vector<double> v = p->to_vector<double>();
      losses.insert(losses.end(), v.begin(), v.end());
    }
    return losses;
  };
  std::vector<double> fused = train(Backend::Jit, true), unfused = train(Backend::Jit, false),
                      reference = train(Backend::Reference, true);
  ASSERT_EQ(fused.size(), reference.size());
  EXPECT_LT(fused[3], fused[0]);  // it learns
  for (size_t i = 0; i < fused.size(); ++i) {
    EXPECT_NEAR(fused[i], reference[i], 1e-5 * (1 + std::abs(reference[i]))) << i;
    EXPECT_NEAR(unfused[i], reference[i], 1e-5 * (1 + std::abs(reference[i]))) << i;
  }
}

}  // namespace
}  // namespace kiln
