// Fusion planning and lowering checked without a code generator: each planned kernel is run by
// the kernel IR interpreter and the results are compared with the reference executor.
#include <gtest/gtest.h>

#include <optional>

#include "codegen/interpreter.h"
#include "codegen/lower.h"
#include "ir/printer.h"
#include "kiln/kiln.h"
#include "passes/fusion.h"
#include "tests/plan_runner.h"
#include "tests/random_graph.h"
#include "tests/testing.h"

namespace {

using kiln::Tensor;

// Evaluates `t` by planning fusion, lowering each kernel and interpreting it. Returns the number
// of kernels.
int interpret_graph(const Tensor& t, bool fuse, std::vector<double>& out,
                    std::vector<kiln::codegen::Kernel>* lowered_kernels = nullptr) {
  kiln::testing::PlannedGraph g = kiln::testing::plan_graph(t, fuse);
  return kiln::testing::run_plan(t, g, [&](const kiln::codegen::LoweredKernel& k, void** args) {
    kiln::codegen::interpret(k.kernel, args, nullptr, 0, kiln::numel(k.kernel.outer));
    if (lowered_kernels) lowered_kernels->push_back(k.kernel);
  }, out);
}

void expect_same(const std::vector<double>& want, const std::vector<double>& got, bool floating, double tol,
                 const std::string& what) {
  ASSERT_EQ(want.size(), got.size()) << what;
  for (size_t i = 0; i < want.size(); ++i) {
    if (std::isnan(want[i])) ASSERT_TRUE(std::isnan(got[i])) << what << " at " << i;
    else if (floating) ASSERT_NEAR(got[i], want[i], tol * (1 + std::fabs(want[i]))) << what << " at " << i;
    else ASSERT_EQ(got[i], want[i]) << what << " at " << i;
  }
}

TEST(Lowering, RandomGraphsMatchTheReferenceExecutor) {
  for (uint32_t seed = 1; seed <= 360; ++seed) {
    // Seeds past 300: graphs with float16 and bfloat16 leaves.
    kiln::testing::RandomGraph graph(seed > 300 ? seed - 300 : seed, false, seed > 300);
    std::optional<kiln::BackendGuard> reference(kiln::Backend::Reference);
    Tensor want = graph.build();
    std::vector<double> expected = want.to_vector<double>();
    bool floating = want.is_floating_point();
    // float64 outputs may come from float32 work: the executors accumulate differently; a
    // float16/bfloat16 sum accumulated in another order may round one unit (up to 2^-7) apart.
    double tol = seed > 300 ? 0x1p-7 : 2e-5;
    for (bool fuse : {true, false}) {
      Tensor t = graph.build();
      std::string what = std::string(fuse ? "fused" : "unfused") + " seed " + std::to_string(seed) + "\n" +
                         kiln::dump_ir(t);
      std::vector<double> got;
      interpret_graph(t, fuse, got);
      expect_same(expected, got, floating, tol, what);
    }
    reference.reset();
    if (::testing::Test::HasFatalFailure()) return;
  }
}

TEST(Lowering, SoftmaxAndLayernormAreOneKernelEach) {
  kiln::BackendGuard reference(kiln::Backend::Reference);
  Tensor x = kiln::randn({8, 32}).eval(), w = kiln::randn({32}).eval(), b = kiln::randn({32}).eval();
  std::vector<double> got;
  EXPECT_EQ(interpret_graph(kiln::softmax(x, 1), true, got), 1);
  expect_same(kiln::softmax(x, 1).to_vector<double>(), got, true, 1e-6, "softmax");
  Tensor mean = x.mean({1}, true);
  Tensor centered = x - mean;
  Tensor ln = centered * ((centered * centered).mean({1}, true) + 1e-5).rsqrt() * w + b;
  EXPECT_EQ(interpret_graph(ln, true, got), 1);
  expect_same(ln.to_vector<double>(), got, true, 1e-5, "layernorm");
}

// Pads, concats and reshapes index their operands affinely: a pad reads its operand at
// coordinates outside it (the interpreter, like the backends, reads 0 there and the value is
// discarded), and (x / c) * c + x % c folds back to x. No division is left for the vector code.
TEST(Lowering, PadConcatAndReshapeIndexWithoutDivision) {
  kiln::BackendGuard reference(kiln::Backend::Reference);
  Tensor x = kiln::randn({6, 4}).eval();
  struct Case {
    const char* what;
    Tensor t;
  };
  Case cases[] = {
      {"pad", kiln::constant_pad_nd(x * 2, {1, 2, 3, 1}, 0.5) + 1},
      {"concat", kiln::cat({x.slice(1, 1, 4), x.slice(1, 0, 2) * 3, x.slice(1, 2, 3)}, 1) + 1},
      {"merging reshape", (x * 2).reshape({24}) + 1},
      {"pad of a merging reshape", kiln::constant_pad_nd((x * 2).reshape({24}), {3, 2}, 0) * 3},
  };
  for (const Case& c : cases) {
    std::vector<double> got;
    std::vector<kiln::codegen::Kernel> kernels;
    interpret_graph(c.t, true, got, &kernels);
    expect_same(c.t.to_vector<double>(), got, true, 1e-6, c.what);
    ASSERT_FALSE(kernels.empty()) << c.what;
    for (const kiln::codegen::Kernel& k : kernels)
      for (const kiln::codegen::IndexNode& n : k.indices)
        EXPECT_TRUE(n.kind != kiln::codegen::IndexNode::FloorDiv && n.kind != kiln::codegen::IndexNode::Mod)
            << c.what << ":\n" << kiln::codegen::print_kernel(k);
  }
}

}  // namespace
