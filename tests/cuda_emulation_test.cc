// The generated CUDA C's semantics, checked without a GPU: each kernel's source is compiled as host
// C++ (g++) with a header that emulates a grid of one block of one thread (the grid-stride and
// block-stride loops then cover every point, shuffles find no partner, barriers are no-ops), and
// graphs run by their fusion plan with these kernels must give the reference executor's values:
// random graphs of every dtype fused and unfused, softmax, layer norm, argmax, a dropout mask, a
// multi-output bias-gradient kernel, and graphs on float16 and bfloat16 (stored as unsigned short,
// converted by the preamble's integer routines). Indexing, guards, casts, Philox, reductions and
// the block combine's logic are covered; what only a GPU shows (races, barrier placement,
// occupancy) is not.
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "codegen/cuda/render.h"
#include "kiln/kiln.h"
#include "tests/cuda_emulation.h"
#include "tests/plan_runner.h"
#include "tests/random_graph.h"

namespace kiln {
namespace {

struct Case {
  std::string what;
  std::function<Tensor()> build;  // records the same graph each call
  // Relative tolerance for floating results. Graphs through float16/bfloat16: a sum whose float32
  // accumulation order differs may round one unit (2^-10, 2^-7) apart, and later ops carry that.
  double tol = 2e-5;
};

std::vector<Case> cases() {
  std::vector<Case> all;
  for (uint32_t seed = 1; seed <= 120; ++seed)
    all.push_back({"random graph " + std::to_string(seed), [seed] { return testing::RandomGraph(seed).build(); }});
  for (uint32_t seed = 1; seed <= 40; ++seed)
    all.push_back({"random graph with float16 and bfloat16 leaves " + std::to_string(seed),
                   [seed] { return testing::RandomGraph(seed, false, /*reduced_floats=*/true).build(); }, 0x1p-7});
  for (ScalarType t : {kFloat16, kBFloat16}) {
    std::string name(dtype_name(t));
    Tensor h = randn({12, 300}).to(t).eval(), g = randn({300}).to(t).eval();
    all.push_back({name + " arithmetic", [=] { return ((h * g + 1.5) / (h - 0.25)).relu() - g.neg().exp(); }, 0x1p-7});
    all.push_back({name + " sum and max", [=] { return h.sum({1}) + h.amax({1}) * 0.5; }, 0x1p-7});
    all.push_back({name + " argmax", [=] { return h.argmax(1); }, 0x1p-7});
    all.push_back({name + " softmax", [=] { return softmax(h, 1); }, 0x1p-7});
    all.push_back({name + " casts", [=] { return (h.to(kInt32) + 1).to(t) + (h > g).to(t) + h.to(kFloat64).to(t); }, 0x1p-7});
  }
  Tensor x = randn({12, 300}).eval(), w = randn({300}).eval(), b = randn({300}).eval();
  all.push_back({"softmax", [=] { return softmax(x, 1); }});
  all.push_back({"argmax of softmax", [=] { return softmax(x, 1).argmax(1); }});
  all.push_back({"layer norm", [=] {
                   Tensor d = x - x.mean({1}, true);
                   return d * rsqrt((d * d).mean({1}, true) + 1e-5) * w + b;
                 }});
  all.push_back({"dropout", [=] {
                   manual_seed(5);
                   return (x * 2).relu() * bernoulli(x, 0.9) / 0.9;
                 }});
  Tensor pre = randn({64, 16}).eval(), g = randn({64, 16}).eval(), m = randn({16, 4}).eval();
  all.push_back({"bias gradient writing the masked gradient", [=] {
                   Tensor masked = where(pre > 0, g, zeros_like(g));
                   return masked.sum({0}) + masked.matmul(m).sum();
                 }});
  return all;
}

TEST(CudaEmulation, GeneratedKernelsComputeWhatTheReferenceExecutorDoes) {
  std::vector<Case> all = cases();
  // Plan every graph (fused and unfused), then compile all their kernels at once.
  struct Planned {
    Tensor t;
    testing::PlannedGraph plan;
    std::string what;
  };
  std::vector<Planned> planned;
  std::vector<codegen::Kernel> kernels;
  std::map<std::string, size_t> seen;
  for (const Case& c : all)
    for (bool fuse : {true, false}) {
      Tensor t = c.build();
      testing::PlannedGraph plan = testing::plan_graph(t, fuse, /*runtime_extents=*/true);
      for (const auto& lowered : plan.lowered)
        if (lowered && seen.emplace(lowered->kernel.name, kernels.size()).second) kernels.push_back(lowered->kernel);
      planned.push_back({t, std::move(plan), c.what + (fuse ? " (fused)" : " (unfused)")});
    }
  testing::EmulatedKernels emulated(kernels);
  ASSERT_TRUE(emulated.ok()) << emulated.log();
  size_t i = 0;
  for (const Case& c : all) {
    std::vector<double> want;
    {
      BackendGuard reference(Backend::Reference);
      want = c.build().to_vector<double>();
    }
    for (int f = 0; f < 2; ++f, ++i) {
      const Planned& p = planned[i];
      std::vector<double> got;
      testing::run_plan(p.t, p.plan, [&](const codegen::LoweredKernel& k, void** args) { emulated.run(k, args); }, got);
      ASSERT_EQ(got.size(), want.size()) << p.what;
      bool floating = p.t.is_floating_point();
      double tol = c.tol;
      for (size_t e = 0; e < want.size(); ++e) {
        if (std::isnan(want[e])) ASSERT_TRUE(std::isnan(got[e])) << p.what << " at " << e;
        else if (std::isinf(want[e])) ASSERT_EQ(got[e], want[e]) << p.what << " at " << e;
        else if (floating) ASSERT_NEAR(got[e], want[e], tol * (1 + std::fabs(want[e]))) << p.what << " at " << e;
        else ASSERT_EQ(got[e], want[e]) << p.what << " at " << e;
      }
    }
  }
  std::printf("%zu graphs ran by %zu distinct emulated CUDA kernels\n", planned.size(), kernels.size());
}

}  // namespace
}  // namespace kiln
