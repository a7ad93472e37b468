// Kiln graphs exported as upstream MLIR (codegen/mlir/export.h), lowered by Debian's mlir-opt-19
// (one-shot bufferization, linalg to loops, conversion to the LLVM dialect) and run by
// mlir-cpu-runner-19 with MLIR's runner utilities: the numbers upstream MLIR computes must be
// Kiln's (its JIT's). Upstream MLIR is an independent implementation of every op here, so this
// checks Kiln's semantics as well as the export. Graphs: the differential random graphs (their
// random leaves evaluated first: Philox has no upstream op), W1, softmax, layernorm, and an MLP's
// forward and backward.
#include "codegen/mlir/export.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "ir/ops.h"
#include "ir/printer.h"
#include "kiln/kiln.h"
#include "kiln/nn/functional.h"
#include "kiln/nn/modules.h"
#include "passes/autodiff.h"
#include "runtime/executor.h"
#include "tests/backward_graph.h"
#include "tests/random_graph.h"

namespace kiln {
namespace {

const char* kLowering =
    "--one-shot-bufferize=\"bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map\" "
    "--convert-linalg-to-loops --convert-scf-to-cf --expand-strided-metadata --lower-affine "
    "--convert-math-to-llvm --convert-math-to-libm --finalize-memref-to-llvm --convert-arith-to-llvm "
    "--convert-func-to-llvm --convert-cf-to-llvm --reconcile-unrealized-casts";

std::string tmp(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") + "/" + name;
}

std::string run_command(const std::string& command, int& status) {
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  char buf[1 << 16];
  size_t n;
  while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  status = p ? pclose(p) : -1;
  return out;
}

// Lowers and runs `module` (with @main); returns each printed vector, in order.
std::vector<std::vector<int64_t>> run_mlir(const std::string& module) {
  std::string in = tmp("graph.mlir"), errors = tmp("errors.txt");
  std::ofstream(in) << module;
  const std::string lib = "/usr/lib/llvm-19/lib/";
  std::string command = "mlir-opt-19 " + std::string(kLowering) + " " + in + " 2>" + errors +
                        " | mlir-cpu-runner-19 -e main -entry-point-result=void -shared-libs=" + lib +
                        "libmlir_runner_utils.so," + lib + "libmlir_c_runner_utils.so 2>>" + errors;
  int status;
  std::string out = run_command(command, status);
  if (status != 0) {
    std::ifstream e(errors);
    ADD_FAILURE() << "mlir-opt-19 | mlir-cpu-runner-19 failed:\n"
                  << std::string(std::istreambuf_iterator<char>(e), {}) << "\nfor the module in " << in;
    return {};
  }
  // printMemrefI64: "Unranked Memref base@ = ... data = \n[1,  2,  3]" per call.
  std::vector<std::vector<int64_t>> printed;
  for (size_t at = out.find("data ="); at != std::string::npos; at = out.find("data =", at + 1)) {
    size_t open = out.find('[', at), close = out.find(']', open);
    std::vector<int64_t> v;

    const char* p = out.c_str() + open + 1;
    const char* end = out.c_str() + close;
    while (p < end) {
      char* next;
      long long x = std::strtoll(p, &next, 10);
      if (next == p) {
        ++p;
        continue;
      }
      v.push_back(x);
      p = next;
    }
    // The printer writes one (garbage) element for an empty memref: keep `sizes = [n]` of them.
    size_t sizes = out.rfind("sizes = [", at);
    v.resize(std::min<size_t>(v.size(), std::strtoull(out.c_str() + sizes + 9, nullptr, 10)));
    printed.push_back(std::move(v));
  }
  return printed;
}

// Element i of `n` (evaluated) and of the printed bits, as doubles.
double kiln_value(const ir::Node& n, int64_t i) {
  return dispatch_dtype(n.dtype, [&]<typename T>() { return static_cast<double>(n.data<T>()[i]); });
}
double printed_value(ScalarType dtype, int64_t bits) {
  if (dtype == kFloat32) {
    uint32_t b = static_cast<uint32_t>(bits);
    float f;
    std::memcpy(&f, &b, 4);
    return f;
  }
  if (dtype == kFloat64) {
    double d;
    std::memcpy(&d, &bits, 8);
    return d;
  }
  return static_cast<double>(bits);
}

// Kiln's transcendentals are its own (error bounds in docs/MATH.md), MLIR's come from libm, and
// reductions may add in another order: floats agree to a few ulps of the values' scale, at the
// precision of the graph's narrowest floating type (a float32 tanh's last bit reaches a float64
// output computed from it).
bool close(double got, double want, ScalarType dtype, bool float32_inside, double scale) {
  if (std::isnan(want) || std::isnan(got)) return std::isnan(want) && std::isnan(got);
  if (std::isinf(want) || std::isinf(got)) return got == want;
  if (!is_floating(dtype)) return got == want;
  double tolerance = dtype == kFloat32 || float32_inside ? 2e-5 : 1e-12;
  return std::fabs(got - want) <= tolerance * std::max({1.0, std::fabs(want), scale});
}

struct Case {
  std::string name;
  std::vector<ir::NodePtr> outputs;
};

// Evaluates random sources, so that the graph reads their values as buffers.
void evaluate_random_leaves(const std::vector<ir::NodePtr>& outputs) {
  std::vector<const ir::Node*> roots;
  for (const ir::NodePtr& o : outputs) roots.push_back(o.get());
  std::vector<ir::NodePtr> random;
  for (const ir::Node* n : ir::topological_order(roots))
    for (const ir::NodePtr& in : n->inputs)
      if (in->op == ir::Op::Random) random.push_back(in);
  for (const ir::NodePtr& o : outputs)
    if (o->op == ir::Op::Random) random.push_back(o);
  if (!random.empty()) runtime::execute(random, {});
}

// Exports every case into one module, runs it once, and compares each output with the JIT's.
void check_against_kiln(const std::vector<Case>& cases) {
  std::vector<codegen::mlir::ExportedGraph> graphs;
  std::vector<std::string> texts;  // as exported (evaluation turns the outputs into buffers)
  std::vector<bool> float32_inside;
  for (const Case& c : cases) {
    evaluate_random_leaves(c.outputs);
    graphs.push_back({c.name, c.outputs});
    std::vector<const ir::Node*> roots;
    for (const ir::NodePtr& o : c.outputs) roots.push_back(o.get());
    texts.push_back(ir::print_graph(roots));
    bool f32 = false;
    for (const ir::Node* n : ir::topological_order(roots)) f32 |= n->dtype == kFloat32;
    float32_inside.push_back(f32);
  }
  std::string module = codegen::mlir::export_module(graphs, {.main = true});
  std::vector<std::vector<int64_t>> printed = run_mlir(module);
  size_t next = 0;
  for (size_t k = 0; k < cases.size(); ++k) {
    const Case& c = cases[k];
    runtime::execute(c.outputs, {});
    for (size_t o = 0; o < c.outputs.size(); ++o, ++next) {
      ASSERT_LT(next, printed.size()) << c.name;
      const ir::Node& out = *c.outputs[o];
      ASSERT_EQ(static_cast<int64_t>(printed[next].size()), out.numel()) << c.name << " output " << o;
      double scale = 0;
      for (int64_t i = 0; i < out.numel(); ++i)
        if (std::isfinite(kiln_value(out, i))) scale = std::max(scale, std::fabs(kiln_value(out, i)));
      for (int64_t i = 0; i < out.numel(); ++i) {
        double want = kiln_value(out, i), got = printed_value(out.dtype, printed[next][i]);
        ASSERT_TRUE(close(got, want, out.dtype, float32_inside[k], scale))
            << c.name << " output " << o << " element " << i << ": MLIR " << got << ", Kiln " << want << "\n"
            << texts[k];
      }
    }
  }
  EXPECT_EQ(next, printed.size());
}

TEST(MlirExport, RandomGraphsComputeWhatKilnComputes) {
  std::vector<Case> cases;
  for (uint32_t seed = 1; seed <= 200; ++seed) {
    Tensor t = testing::RandomGraph(seed).build();
    if (t.node()->is_buffer()) continue;
    cases.push_back({"random" + std::to_string(seed), {t.node()}});
  }
  ASSERT_GT(cases.size(), 150u);
  check_against_kiln(cases);
}

TEST(MlirExport, BackwardGraphsComputeWhatKilnComputes) {
  std::vector<Case> cases;
  for (uint32_t seed = 1; seed <= 100; ++seed) {
    std::vector<ir::NodePtr> graph = testing::random_backward_graph(seed);
    if (!graph.empty()) cases.push_back({"backward" + std::to_string(seed), graph});
  }
  ASSERT_GT(cases.size(), 50u);
  check_against_kiln(cases);
}

TEST(MlirExport, WorkloadsAndAnMlpStep) {
  manual_seed(3);
  Tensor x = randn({64, 96});
  Tensor w1 = gelu(x * 1.5 + 0.5, "tanh") * sigmoid(x);
  Tensor softmax_rows = softmax(randn({33, 70}), 1);
  Tensor w = randn({70}), b = randn({70});
  Tensor layernorm = nn::functional::layer_norm(randn({17, 70}), nn::functional::LayerNormFuncOptions({70}).weight(w).bias(b));
  nn::Sequential mlp(nn::Linear(12, 16), nn::ReLU(), nn::Linear(16, 5));
  Tensor input = randn({8, 12}), target = randint(0, 5, {8});
  Tensor loss = nn::functional::cross_entropy(mlp->forward(input), target);
  std::vector<ir::NodePtr> params;
  for (Tensor& p : mlp->parameters()) params.push_back(p.node());
  std::vector<ir::NodePtr> gradient_graph = passes::gradient_graph({loss.node()}, {});
  ir::NodePtr one = ir::full(Scalar(1.0f), loss.node()->shape, loss.node()->dtype, {});
  std::vector<ir::NodePtr> grads = passes::differentiate(gradient_graph, {loss.node()}, {one}, params);
  std::vector<ir::NodePtr> step = {loss.node()};
  for (const ir::NodePtr& g : grads) step.push_back(g);
  check_against_kiln({{"w1", {w1.node()}},
                      {"softmax", {softmax_rows.node()}},
                      {"layernorm", {layernorm.node()}},
                      {"mlp_step", step}});
}

// uint8 and bool compare, widen, convert and take max/min as unsigned; int8 and int16 as signed:
// 200 as a u8 is not -56.
TEST(MlirExport, SmallIntegerTypesKeepTheirSignedness) {
  Tensor u = tensor({200, 100, 3, 255}).to(kUInt8).eval();
  Tensor s = tensor({-100, 100, 3, -1}).to(kInt8).eval();
  Tensor h = tensor({-30000, 2, 300, 7}).to(kInt16).eval();
  Tensor mixed = u.to(kFloat32) + s.to(kFloat32) * 2 + h.to(kFloat64);
  check_against_kiln({{"compare", {(u > tensor({150}).to(kUInt8)).node(), (s < 0).node(), (h >= 7).node()}},
                      {"convert", {mixed.node(), u.to(kInt64).node(), s.to(kInt16).node(), (u.to(kBool)).node()}},
                      {"reduce", {u.max().node(), s.min().node(), u.sum().node(), std::get<1>(u.max(0)).node()}},
                      {"arithmetic", {maximum(u, tensor({150, 150, 150, 150}).to(kUInt8)).node(), (s * s).node(),
                                      (h - h * 3).node()}}});
}

TEST(MlirExport, LocationsAreTheUsersLines) {
  Tensor x = full({4, 3}, 2.0);
  Tensor y = softmax(x * 3, 1);  int line = __LINE__;
  std::string text = codegen::mlir::export_module({{"graph", {y.node()}}});
  EXPECT_NE(text.find("func.func @graph() -> tensor<4x3xf32>"), std::string::npos) << text;
  std::string here = std::string("loc(\"softmax\"(#loc") ;
  EXPECT_NE(text.find(here), std::string::npos) << text;
  EXPECT_NE(text.find("mlir_export_test.cc\":" + std::to_string(line) + ":0"), std::string::npos) << text;
}

TEST(MlirExport, RandomOpsAreAnErrorNamingTheLine) {
  Tensor x = randn({3});  int line = __LINE__;
  try {
    codegen::mlir::export_module({{"graph", {x.node()}}});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.op(), "random");
    EXPECT_NE(std::string(e.what()).find("has no MLIR export"), std::string::npos) << e.what();
    EXPECT_EQ(e.loc().line, line);
  }
}

// float16/bfloat16 compute in float32 with a rounding per op (docs/IR.md); MLIR's arith would
// compute in 16 bits, so the export refuses them instead of exporting other numbers.
TEST(MlirExport, Float16AndBFloat16AreAnErrorNamingTheLine) {
  for (ScalarType t : {kFloat16, kBFloat16}) {
    Tensor x = ones({3}, dtype(t)) * 2;  int line = __LINE__;
    try {
      codegen::mlir::export_module({{"graph", {x.node()}}});
      ADD_FAILURE() << "no error for " << dtype_name(t);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("float16/bfloat16"), std::string::npos) << e.what();
      EXPECT_EQ(e.loc().line, line);
    }
  }
}

}  // namespace
}  // namespace kiln
