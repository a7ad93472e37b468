// The kernel cache is bounded: past its capacity it evicts the least recently used kernel, whose
// code lives on while a cached schedule still holds it, and a graph that needs an evicted kernel
// again compiles it again.
#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "kiln/kiln.h"
#include "runtime/kernel_cache.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using testing::expect_tensor;

// A graph with one kernel of its own: sin applied k times, then exp.
Tensor graph(const Tensor& x, int k) {
  Tensor y = x;
  for (int i = 0; i < k; ++i) y = y.sin();
  return y.exp();
}

double expected(double x, int k) {
  for (int i = 0; i < k; ++i) x = std::sin(x);
  return std::exp(x);
}

TEST(KernelCache, EvictsTheLeastRecentlyUsedAndRecompilesOnlyWhatItLost) {
  Tensor x = tensor({0.0, 0.5, 1.0}, dtype(kFloat64)).eval();
  auto check = [&](const Tensor& in, int k) {
    std::vector<double> want;
    for (double v : in.to_vector<double>()) want.push_back(expected(v, k));
    expect_tensor<double>(graph(in, k), {in.size(0)}, want, 1e-12);
  };
  runtime::set_kernel_cache_capacity(3);
  int64_t start = stats().kernels_compiled;
  for (int k = 1; k <= 5; ++k) check(x, k);
  EXPECT_EQ(stats().kernels_compiled - start, 5);
  EXPECT_EQ(runtime::kernel_cache_size(), 3u);
  EXPECT_EQ(stats().kernels_cached, 3);
  EXPECT_EQ(stats().kernels_evicted, 2);
  // Graph 1's schedule is still cached and holds its kernel's code: it runs, compiling nothing.
  int64_t before = stats().kernels_compiled;
  Stats s0 = stats();
  check(x, 1);
  EXPECT_EQ(stats().kernels_compiled, before);
  EXPECT_EQ(stats().schedule_cache_hits, s0.schedule_cache_hits + 1);
  EXPECT_EQ(stats().schedules_built, s0.schedules_built);
  // A 4-element x makes new schedules whose kernels are those of the 3-element graphs (the extent
  // is a runtime argument): graph 5's kernel is still cached, graph 1's was evicted.
  Tensor x4 = tensor({0.0, 0.5, 1.0, 2.0}, dtype(kFloat64)).eval();
  check(x4, 5);
  EXPECT_EQ(stats().kernels_compiled, before);
  check(x4, 1);
  EXPECT_EQ(stats().kernels_compiled, before + 1);
  EXPECT_EQ(stats().kernels_evicted, 3);
  runtime::set_kernel_cache_capacity(4096);
}

}  // namespace
}  // namespace kiln
