// The JIT backend against the reference executor: kernel counts of fused workloads, the
// recompute-or-materialize rule, the kernel cache, and a differential test over hundreds of
// random graphs (fused, unfused and reference must agree).
#include <gtest/gtest.h>

#include <functional>
#include <random>

#include "kiln/kiln.h"
#include "tests/random_graph.h"
#include "tests/testing.h"

namespace {

using kiln::Tensor;

// Runs `build` under each executor and returns the kernels the fused run launched.
struct Outcome {
  std::vector<double> values;
  kiln::Shape shape;
  kiln::ScalarType dtype;
  int64_t kernels;
};

Outcome run(const std::function<Tensor()>& build, kiln::Backend backend, bool fuse) {
  kiln::BackendGuard on(backend);
  kiln::FusionGuard fusion(fuse);
  Tensor t = build();
  int64_t before = kiln::stats().kernels_launched;
  t.eval();
  int64_t kernels = kiln::stats().kernels_launched - before;
  return {t.to_vector<double>(), t.sizes(), t.dtype(), kernels};
}

int64_t kernels_of(const std::function<Tensor()>& build) { return run(build, kiln::Backend::Jit, true).kernels; }

// `tol` is relative; 2e-5 because float64 outputs may come from float32 work, which the executors
// accumulate differently.
void expect_close(const Outcome& want, const Outcome& got, const std::string& what, double tol = 2e-5) {
  ASSERT_EQ(want.shape, got.shape) << what;
  ASSERT_EQ(want.dtype, got.dtype) << what;
  ASSERT_EQ(want.values.size(), got.values.size()) << what;
  bool floating = kiln::is_floating(want.dtype);
  for (size_t i = 0; i < want.values.size(); ++i) {
    double w = want.values[i], g = got.values[i];
    if (std::isnan(w)) {
      ASSERT_TRUE(std::isnan(g)) << what << " at " << i;
    } else if (floating) {
      ASSERT_NEAR(g, w, tol * (1 + std::fabs(w))) << what << " at " << i;
    } else {
      ASSERT_EQ(g, w) << what << " at " << i;
    }
  }
}

Tensor input(const kiln::Shape& shape) { return kiln::randn(shape).eval(); }

TEST(FusionKernelCounts, GeluTimesSigmoidIsOneKernel) {
  Tensor x = input({1000});
  EXPECT_EQ(kernels_of([&] { return kiln::gelu(x * 1.5 + 0.5, "tanh") * kiln::sigmoid(x); }), 1);
}

TEST(FusionKernelCounts, SoftmaxIsAtMostTwoKernels) {
  Tensor x = input({64, 100});
  EXPECT_LE(kernels_of([&] { return kiln::softmax(x, 1); }), 2);
  EXPECT_LE(kernels_of([&] { return kiln::log_softmax(x, 1); }), 2);
}

// argmax is a reduction like any other: a classifier's prediction (softmax, then argmax) is one
// kernel, and argmax over a column reads it in place.
TEST(FusionKernelCounts, ArgmaxOfSoftmaxIsOneKernel) {
  Tensor x = input({64, 100});
  auto predict = [&] { return kiln::softmax(x * 3, 1).argmax(1); };
  auto column = [&] { return (x - 1).abs().argmin(0); };
  EXPECT_EQ(kernels_of(predict), 1);
  EXPECT_EQ(kernels_of(column), 1);
  expect_close(run(predict, kiln::Backend::Reference, false), run(predict, kiln::Backend::Jit, true), "predict");
  expect_close(run(column, kiln::Backend::Reference, false), run(column, kiln::Backend::Jit, true), "column");
}

TEST(FusionKernelCounts, LayernormIsAtMostTwoKernels) {
  Tensor x = input({32, 48}), w = input({48}), b = input({48});
  auto layernorm = [&] {
    Tensor mean = x.mean({1}, true);
    Tensor centered = x - mean;
    Tensor var = (centered * centered).mean({1}, true);
    return centered * (var + 1e-5).rsqrt() * w + b;
  };
  EXPECT_LE(kernels_of(layernorm), 2);
  expect_close(run(layernorm, kiln::Backend::Reference, false), run(layernorm, kiln::Backend::Jit, true), "layernorm");
}

TEST(FusionKernelCounts, MovementOpsFoldIntoTheKernel) {
  Tensor x = input({8, 6});
  EXPECT_EQ(kernels_of([&] { return (x.t().slice(0, 1, 6, 2) * 2).reshape({-1}).exp(); }), 1);
}

TEST(FusionKernelCounts, LinearReadsTheTransposedWeightInPlace) {
  Tensor x = input({8, 16}), w = input({4, 16}), b = input({4});
  auto linear = [&] { return (x.matmul(w.t()) + b).relu(); };
  EXPECT_EQ(kernels_of(linear), 1);  // BLAS reads w transposed; bias and relu are one kernel
  expect_close(run(linear, kiln::Backend::Reference, false), run(linear, kiln::Backend::Jit, true), "linear");
  Tensor p = input({2, 5, 3}), q = input({2, 4, 5});
  auto batched = [&] { return p.transpose(1, 2).matmul(q.transpose(1, 2)); };  // [2,3,5] x [2,5,4]
  EXPECT_EQ(kernels_of(batched), 0);
  expect_close(run(batched, kiln::Backend::Reference, false), run(batched, kiln::Backend::Jit, true), "batched");
}

TEST(FusionKernelCounts, UnfusedRunsOneKernelPerPrimitive) {
  Tensor x = input({100});
  auto build = [&] { return (x * 2 + 1).exp(); };  // mul, add, exp; constants are inlined
  EXPECT_EQ(run(build, kiln::Backend::Jit, false).kernels, 3);
  EXPECT_EQ(run(build, kiln::Backend::Jit, true).kernels, 1);
}

TEST(FusionRecompute, CheapSharedNodesAreRecomputedInEachKernel) {
  Tensor x = input({16, 16});
  // `e` is read by the row sum and, transposed, by the output. It is cheap, so it is not
  // materialized: the row sum becomes an accumulator of the output's kernel, which computes exp
  // both in the reduction loop and in the store loop. One kernel, no intermediate buffer.
  auto build = [&] {
    Tensor e = x.exp();
    return e.sum({1}, true) + e.t();
  };
  EXPECT_EQ(kernels_of(build), 1);
  expect_close(run(build, kiln::Backend::Reference, false), run(build, kiln::Backend::Jit, true), "recompute");
}

TEST(FusionRecompute, SharedNodesReadingManyBuffersAreMaterializedOnce) {
  Tensor a = input({16, 16}), b = input({16, 16}), c = input({16, 16}), d = input({16, 16});
  auto build = [&] {
    Tensor shared = a * b + c * d;  // reads 4 buffers: materialized once, by its own kernel
    return shared.sum({1}, true) + shared.t();
  };
  EXPECT_EQ(kernels_of(build), 2);
  expect_close(run(build, kiln::Backend::Reference, false), run(build, kiln::Backend::Jit, true), "materialize");
}

// Evaluates the tensors `build` returns in one graph: their values, one after another, and the
// kernels launched.
std::pair<std::vector<double>, int64_t> run_together(const std::function<std::vector<Tensor>()>& build,
                                                     kiln::Backend backend) {
  kiln::BackendGuard on(backend);
  std::vector<Tensor> outputs = build();
  int64_t before = kiln::stats().kernels_launched;
  kiln::eval(outputs);
  int64_t kernels = kiln::stats().kernels_launched - before;
  std::vector<double> values;
  for (const Tensor& t : outputs) {
    std::vector<double> v = t.to_vector<double>();
    values.insert(values.end(), v.begin(), v.end());
  }
  return {values, kernels};
}

// The JIT's kernels for `build`, after checking its values against the reference executor's.
int64_t kernels_together(const std::function<std::vector<Tensor>()>& build) {
  auto [want, unused] = run_together(build, kiln::Backend::Reference);
  auto [got, kernels] = run_together(build, kiln::Backend::Jit);
  EXPECT_EQ(got.size(), want.size());
  for (size_t i = 0; i < want.size() && i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-4 * (1 + std::fabs(want[i]))) << "element " << i;
  return kernels;
}

TEST(FusionExtraOutputs, BiasGradientSumWritesTheMaskedGradient) {
  Tensor pre = input({64, 48}), g = input({64, 48}), w = input({48, 32});
  // The masked gradient feeds a matmul (so it is materialized) and the bias gradient's column
  // sum, which computes it and writes it: one kernel beside the matmul.
  EXPECT_EQ(kernels_together([&] {
              Tensor masked = kiln::where(pre > 0, g, kiln::zeros_like(g));
              return std::vector<Tensor>{masked.matmul(w), masked.sum({0})};
            }),
            1);
}

TEST(FusionExtraOutputs, MomentumBufferAndParameterAreOneKernel) {
  Tensor buf = input({40, 30}), g = input({40, 30}), p = input({40, 30});
  EXPECT_EQ(kernels_together([&] {
              Tensor next = buf * 0.9 + g;
              return std::vector<Tensor>{next, p - next * 0.1};
            }),
            1);
}

TEST(FusionExtraOutputs, NotMergedWhereTheOrderOrTheCoordinatesForbidIt) {
  Tensor a = input({16, 16}), w = input({16, 16}), c = input({16, 16});
  // r reads e and a matmul of e: merging e into r's kernel would run it before the matmul
  // that reads e.
  EXPECT_EQ(kernels_together([&] {
              Tensor e = a * 2 + 1;
              return std::vector<Tensor>{e, e + e.matmul(w)};
            }),
            2);
  // A chain deeper than kMaxInlineDepth stays cut into kernels: merging the pieces back as extra
  // outputs would inline the whole chain into one kernel.
  EXPECT_GE(kernels_together([&] {
              Tensor y = a;
              for (int i = 0; i < 128; ++i) y = y * 0.999 + 0.001;  // 256 ops: 4 x kMaxInlineDepth
              return std::vector<Tensor>{y};
            }),
            4);
  // r reads e transposed: not at its own point.
  EXPECT_EQ(kernels_together([&] {
              Tensor e = a * c;
              return std::vector<Tensor>{e, e.t() + c};
            }),
            2);
}

TEST(ScheduleCache, RandomNodesSharingASeedAreToldApartFromOnesThatDoNot) {
  auto draw_pair = [](bool same) {
    kiln::manual_seed(3);
    Tensor a = kiln::rand({4});
    if (same) kiln::manual_seed(3);
    Tensor b = kiln::rand({4});
    return a - b;  // the same structure either way
  };
  std::vector<double> zeros = draw_pair(true).to_vector<double>();
  EXPECT_EQ(zeros, std::vector<double>(4, 0.0));
  std::vector<double> differ = draw_pair(false).to_vector<double>();
  std::vector<double> expected;
  {
    kiln::BackendGuard reference(kiln::Backend::Reference);
    expected = draw_pair(false).to_vector<double>();
  }
  EXPECT_EQ(differ, expected);
  EXPECT_NE(differ, zeros);
}

TEST(KernelCache, HundredStepLoopCompilesEachKernelOnce) {
  Tensor w = input({32, 32});
  Tensor x = input({32});
  kiln::Stats start = kiln::stats();
  for (int step = 0; step < 100; ++step) {
    x = kiln::softmax(w.matmul(x).tanh() * 0.5, 0);
    x.eval();
    if (step == 0) start = kiln::stats();  // the first step compiles
  }
  kiln::Stats end = kiln::stats();
  EXPECT_EQ(end.kernels_compiled, start.kernels_compiled);
  EXPECT_GE(end.kernels_launched - start.kernels_launched, 99);
}

TEST(Differential, RandomGraphsAgreeFusedUnfusedAndReference) {
  for (uint32_t seed = 1; seed <= 360; ++seed) {
    // Seeds past 300: graphs with float16 and bfloat16 leaves.
    kiln::testing::RandomGraph graph(seed > 300 ? seed - 300 : seed, false, seed > 300);
    auto build = [&] { return graph.build(); };
    Outcome reference = run(build, kiln::Backend::Reference, false);
    std::string what = "graph seed " + std::to_string(seed) + ":\n" + kiln::dump_ir(graph.build());
    // A float16/bfloat16 sum accumulated in another order may round one unit (up to 2^-7) apart.
    double tol = seed > 300 ? 0x1p-7 : 2e-5;
    expect_close(reference, run(build, kiln::Backend::Jit, true), "fused, " + what, tol);
    expect_close(reference, run(build, kiln::Backend::Jit, false), "unfused, " + what, tol);
    if (::testing::Test::HasFatalFailure()) return;
  }
}

}  // namespace
