// The kernel IR's text read back (codegen/kernel_parser.h): print -> parse -> print is identical
// for every kernel the random graphs, their gradients and a training step lower to (fused and
// not, with runtime extents), and each parsed kernel computes exactly what the original computes
// (both run by the kernel-IR interpreter inside the graph's plan). Malformed text is an error at
// its line and column; truncated and corrupted kernels never crash. (kernel_ir_test round-trips
// its golden kernels too.)
#include "codegen/kernel_parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "codegen/interpreter.h"
#include "kiln/kiln.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/modules.h"
#include "tests/backward_graph.h"
#include "tests/plan_runner.h"
#include "tests/random_graph.h"

namespace kiln {
namespace {

// Runs `t`'s plan twice with the interpreter: once with the lowered kernels, once with each
// kernel printed and parsed back (checking the text round-trips). Returns the kernels checked.
int check_round_trips(const ir::NodePtr& t, bool fuse, const std::string& what) {
  testing::PlannedGraph g = testing::plan_graph(t, fuse, /*runtime_extents=*/true);
  auto interpret = [](const codegen::Kernel& k, const codegen::LoweredKernel& lowered, void** args) {
    int64_t extent = lowered.extent;
    int64_t points = 1;
    for (int64_t e : k.outer) points *= e == codegen::kRuntimeExtent ? extent : e;
    codegen::interpret(k, args, &extent, 0, points);
  };
  std::vector<double> want, got;
  int kernels = testing::run_plan(t, g, [&](const codegen::LoweredKernel& k, void** args) { interpret(k.kernel, k, args); }, want);
  testing::run_plan(t, g, [&](const codegen::LoweredKernel& k, void** args) {
    std::string text = codegen::print_kernel(k.kernel);
    std::vector<codegen::Kernel> parsed = codegen::parse_kernels(text, what);
    EXPECT_EQ(parsed.size(), 1u) << what;
    EXPECT_EQ(codegen::print_kernel(parsed.at(0)), text) << what;
    interpret(parsed.at(0), k, args);
  }, got);
  EXPECT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size() && i < got.size(); ++i)
    if (!std::isnan(want[i])) EXPECT_EQ(got[i], want[i]) << what << " element " << i;
  return kernels;
}

TEST(KernelParser, RandomGraphsKernelsRoundTripAndComputeTheSame) {
  int kernels = 0;
  for (uint32_t seed = 1; seed <= 260; ++seed) {
    for (bool fuse : {true, false}) {
      // Seeds past 200: graphs with float16 and bfloat16 leaves.
      Tensor t = testing::RandomGraph(seed > 200 ? seed - 200 : seed, false, seed > 200).build();
      kernels += check_round_trips(t.node(), fuse, "seed " + std::to_string(seed) + (fuse ? " fused" : " unfused"));
    }
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GT(kernels, 500);
}

TEST(KernelParser, BackwardGraphsKernelsRoundTripAndComputeTheSame) {
  int kernels = 0;
  for (uint32_t seed = 1; seed <= 100; ++seed) {
    std::vector<ir::NodePtr> graph = testing::random_backward_graph(seed);
    if (graph.empty()) continue;
    kernels += check_round_trips(graph[1], true, "backward seed " + std::to_string(seed));
    if (::testing::Test::HasFailure()) return;
  }
  EXPECT_GT(kernels, 100);
}

TEST(KernelParser, TrainingStepKernelsRoundTrip) {
  manual_seed(0);
  nn::Sequential model(nn::Linear(6, 5), nn::ReLU(), nn::Dropout(0.3), nn::Linear(5, 3));
  Tensor x = randn({4, 6}), y = randint(0, 3, {4});
  Tensor loss = nn::functional::cross_entropy(model->forward(x), y);
  EXPECT_GT(check_round_trips(loss.node(), true, "loss"), 0);
  Tensor w = randn({5}).requires_grad_();
  Tensor out = (nn::functional::layer_norm(randn({7, 5}), nn::functional::LayerNormFuncOptions({5})) * w).softmax(1);
  EXPECT_GT(check_round_trips((out.argmax(1) + out.sum(1).to(kInt64)).node(), true, "layernorm softmax argmax"), 0);
}

// A kernel like those KILN_DUMP=kernels writes, with a runtime extent, a reduction with a store,
// inner stores and an outer store.
const std::string kKernel =
    "kernel kiln_0123456789abcdef(a0: f32[N*16], out a1: f32[N*16], out a2: f32[N*1])\n"
    "  outer [N]  inner [16]\n"
    "  v0 = load a0[(i0*16 + i1)] : f32\n"
    "  v1 = exp v0 : f32\n"
    "  v2 = acc0 : f32\n"
    "  v3 = div v1, v2 : f32\n"
    "  acc0 = reduce_sum over inner of v1\n"
    "    stores a1[(i0*16 + i1)] = v1\n"
    "  for inner:\n"
    "    a1[(i0*16 + i1)] = v3\n"
    "  a2[i0] = v2\n";

TEST(KernelParser, AKernelDumpReadsBack) {
  std::vector<codegen::Kernel> k = codegen::parse_kernels("// extern matmul at m.cc:3\n\n" + kKernel + kKernel);
  ASSERT_EQ(k.size(), 2u);
  EXPECT_EQ(codegen::print_kernel(k[0]), kKernel);
  EXPECT_EQ(k[0].runtime_var, 0);
  EXPECT_TRUE(k[0].args[0].scaled);
  EXPECT_EQ(k[0].reductions.size(), 1u);
  EXPECT_EQ(k[0].inner_stores.size(), 1u);
  EXPECT_EQ(k[0].outer_stores.size(), 1u);
  // (i0*16 + i1) is one index node wherever it appears.
  EXPECT_EQ(k[0].indices.size(), 5u);  // i0, 16, i0*16, i1 and the sum
  // Rows of exp(x) / sum(exp(x)) through the interpreter.
  std::vector<float> x = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15}, y(16), sums(1);
  void* args[] = {x.data(), y.data(), sums.data()};
  int64_t extent = 1;
  codegen::interpret(k[0], args, &extent, 0, 1);
  double sum = 0;
  for (float v : x) sum += std::exp(double(v));
  EXPECT_NEAR(sums[0], sum, sum * 1e-6);
  EXPECT_NEAR(y[15], std::exp(15.0) / sum, 1e-6);
}

struct Malformed {
  std::string text;
  int line, column;
  std::string message;
};

TEST(KernelParser, MalformedTextIsAnErrorAtItsLineAndColumn) {
  const std::string head = "kernel k(a0: f32[4], out a1: f32[4])\n  outer [4]  inner []\n";
  const Malformed cases[] = {
      {"kernal k()\n", 1, 1, "expected 'kernel NAME(...)'"},
      {head + "  v0 = load a0[i0] : f32\n  a1[i0] = v1\n", 4, 12, "v1 is not defined above"},
      {head + "  v0 = load a0[i3] : f32\n", 3, 16, "i3 is not a loop variable"},
      {head + "  v0 = load a0[i0] : f64\n", 3, 8, "a load of a0 has its type f32"},
      {head + "  v0 = load a0[i0] : f32\n  v1 = add v0 : f32\n", 4, 8, "add takes 2 operand(s), got 1"},
      {head + "  v0 = load a0[i0] : f32\n  v1 = lt v0, v0 : f32\n", 4, 8, "a comparison gives i1"},
      {head + "  v0 = frob a0[i0] : f32\n", 3, 8, "expected a value"},
      {head + "  v1 = load a0[i0] : f32\n", 3, 5, "values are numbered v0, v1, ... in order"},
      {head + "  v0 = load a0[(i0 ^ 2)] : f32\n", 3, 20, "expected '+', '/' or '%'"},
      {head + "  v0 = load a0[i0] : f32\n  a0[i0] = v0\n", 4, 3, "a0 is not an output"},
      {head + "  v0 = acc0 : f32\n  a1[i0] = v0\n", 4, 14, "no such reduction"},
      {head + "  v0 = load a0[i0] : f32\n  acc0 = argmax over inner of v0\n", 4, 33, "expected 'at'"},
      {"kernel k(a0: f32[4])\n  outer [N]  inner [N]\n", 2, 22, "one extent at most is the runtime extent N"},
      {"kernel k(a0: f32[4])\n", 1, 21, "expected 'outer [...]  inner [...]'"},
      {head + "  v0 = load a0[" + std::string(300, '(') + "i0", 3, 0, "nested too deeply"},
  };
  for (const Malformed& c : cases) {
    try {
      codegen::parse_kernels(c.text, "k.txt");
      ADD_FAILURE() << "no error for:\n" << c.text;
    } catch (const ir::ParseError& e) {
      EXPECT_EQ(e.line(), c.line) << e.what();
      if (c.column) EXPECT_EQ(e.column(), c.column) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("k.txt:", 0), 0u) << e.what();
    }
  }
}

TEST(KernelParser, TruncatedAndCorruptedKernelsNeverCrash) {
  int parsed = 0;
  for (size_t n = 0; n <= kKernel.size(); ++n) {
    for (char c : {'\0', '[', '9', 'N'}) {
      std::string text = kKernel.substr(0, n);
      if (c != '\0' && n < kKernel.size()) text[n] = c, text += kKernel.substr(n + 1);
      try {
        for (const codegen::Kernel& k : codegen::parse_kernels(text)) codegen::print_kernel(k);
        ++parsed;
      } catch (const ir::ParseError&) {
      }
    }
  }
  EXPECT_GT(parsed, 0);
}

}  // namespace
}  // namespace kiln
