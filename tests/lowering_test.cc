// Fusion planning and lowering checked without a code generator: each planned kernel is run by
// the kernel IR interpreter and the results are compared with the reference executor.
#include <gtest/gtest.h>

#include <array>
#include <optional>
#include <unordered_map>

#include "codegen/interpreter.h"
#include "codegen/lower.h"
#include "ir/printer.h"
#include "kiln/kiln.h"
#include "passes/fusion.h"
#include "runtime/cpu/blas_ops.h"
#include "tests/random_graph.h"
#include "tests/testing.h"

namespace {

using kiln::Tensor;

// Evaluates `t` by planning fusion, lowering each kernel and interpreting it. Returns the number
// of kernels.
int interpret_graph(const Tensor& t, bool fuse, std::vector<double>& out,
                    std::vector<kiln::codegen::Kernel>* lowered_kernels = nullptr) {
  const kiln::ir::Node* root = t.node().get();
  std::vector<const kiln::ir::Node*> roots = {root};
  if (root->is_buffer()) {
    out = t.to_vector<double>();
    return 0;
  }
  auto order = kiln::ir::topological_order(roots);
  kiln::passes::FusionPlan plan = kiln::passes::plan_fusion(order, roots, fuse);
  std::unordered_map<const kiln::ir::Node*, std::shared_ptr<kiln::ir::Storage>> values;
  auto value_of = [&](const kiln::ir::Node* n) { return n->is_buffer() ? n->storage : values.at(n); };
  int kernels = 0;
  auto allocate = [](const kiln::ir::Node* n) { return kiln::ir::Storage::allocate(n->numel() * kiln::element_size(n->dtype)); };
  for (const auto& g : plan.groups) {
    auto storage = allocate(g.root);
    if (g.kind == kiln::passes::FusedGroup::Extern) {
      kiln::runtime::reference::Inputs in;
      for (const kiln::ir::Node* operand : g.operands) in.push_back(value_of(operand)->data());
      kiln::runtime::cpu::run_extern(*g.root, in, storage->data(), g.transposed);
    } else {
      auto lowered = kiln::codegen::lower(
          {g.root, g.extra_outputs, g.domain, g.reduce_axes, g.reductions,
           [&](const kiln::ir::Node* n) { return plan.materialized(n); }});
      size_t num_inputs = lowered.args.size() - 1 - g.extra_outputs.size();
      std::vector<void*> args;
      std::vector<std::array<int64_t, 2>> random_params;
      random_params.reserve(lowered.args.size());
      for (size_t i = 0; i < num_inputs; ++i) {
        if (lowered.random_params[i]) {  // a random node's {seed, offset}
          random_params.push_back({int64_t(lowered.args[i]->attrs.seed), int64_t(lowered.args[i]->attrs.offset)});
          args.push_back(random_params.back().data());
        } else {
          args.push_back(value_of(lowered.args[i])->data());
        }
      }
      for (const kiln::ir::Node* e : g.extra_outputs) {
        values[e] = allocate(e);
        args.push_back(values[e]->data());
      }
      args.push_back(storage->data());
      kiln::codegen::interpret(lowered.kernel, args.data(), nullptr, 0, kiln::numel(lowered.kernel.outer));
      if (lowered_kernels) lowered_kernels->push_back(lowered.kernel);
      ++kernels;
    }
    values[g.root] = storage;
  }
  std::shared_ptr<kiln::ir::Storage> result = values.at(root);
  out.resize(root->numel());
  kiln::dispatch_dtype(root->dtype, [&]<typename T>() {
    for (int64_t i = 0; i < root->numel(); ++i) out[i] = static_cast<double>(static_cast<const T*>(result->data())[i]);
  });
  return kernels;
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
  for (uint32_t seed = 1; seed <= 300; ++seed) {
    kiln::testing::RandomGraph graph(seed);
    std::optional<kiln::BackendGuard> reference(kiln::Backend::Reference);
    Tensor want = graph.build();
    std::vector<double> expected = want.to_vector<double>();
    bool floating = want.is_floating_point();
    double tol = 2e-5;  // float64 outputs may come from float32 work: the executors accumulate differently
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
