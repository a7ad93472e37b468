// The generated CUDA C's semantics, checked without a GPU: each kernel's source is compiled as host
// C++ (g++) with a header that emulates a grid of one block of one thread (the grid-stride and
// block-stride loops then cover every point, shuffles find no partner, barriers are no-ops), and
// graphs run by their fusion plan with these kernels must give the reference executor's values:
// random graphs of every dtype fused and unfused, softmax, layer norm, argmax, a dropout mask and
// a multi-output bias-gradient kernel. Indexing, guards, casts, Philox, reductions and the block
// combine's logic are covered; what only a GPU shows (races, barrier placement, occupancy) is not.
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
};

std::vector<Case> cases() {
  std::vector<Case> all;
  for (uint32_t seed = 1; seed <= 120; ++seed)
    all.push_back({"random graph " + std::to_string(seed), [seed] { return testing::RandomGraph(seed).build(); }});
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
      for (size_t e = 0; e < want.size(); ++e) {
        if (std::isnan(want[e])) ASSERT_TRUE(std::isnan(got[e])) << p.what << " at " << e;
        else if (floating) ASSERT_NEAR(got[e], want[e], 2e-5 * (1 + std::fabs(want[e]))) << p.what << " at " << e;
        else ASSERT_EQ(got[e], want[e]) << p.what << " at " << e;
      }
    }
  }
  std::printf("%zu graphs ran by %zu distinct emulated CUDA kernels\n", planned.size(), kernels.size());
}

}  // namespace
}  // namespace kiln
