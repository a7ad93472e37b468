// The kernel IR is what every code generator consumes, so its text is pinned like the graph IR's:
// the kernels of W1 (gelu * sigmoid), a row softmax and its argmax, a layer norm, a dropout mask
// and a backward step, as
// simplification, fusion and lowering make them (codegen::print_kernel, the KILN_DUMP=kernels
// format). A change here changes what the LLVM and CUDA generators see: review it as such. Each
// golden kernel also round-trips through the kernel-IR parser.
#include <gtest/gtest.h>

#include <regex>
#include <string>
#include <vector>

#include "codegen/kernel_parser.h"
#include "codegen/lower.h"
#include "ir/printer.h"
#include "kiln/kiln.h"
#include "passes/fusion.h"
#include "passes/simplify.h"

namespace kiln {
namespace {

// The kernels that evaluating `outputs` compiles, printed in schedule order; extern steps (such
// as matmuls) and reshapes that alias an earlier step's buffer print as one line, as the
// schedule (frontend/schedule.cc) runs them.
std::string kernels_of(const TensorList& outputs, bool keep_locations = false) {
  std::vector<ir::NodePtr> roots;
  for (const Tensor& t : outputs) roots.push_back(t.node());
  std::vector<ir::NodePtr> simplified = passes::simplify(roots);
  std::vector<const ir::Node*> new_roots;
  for (const ir::NodePtr& r : simplified) new_roots.push_back(r.get());
  std::vector<const ir::Node*> order = ir::topological_order(new_roots);
  passes::FusionPlan plan = passes::plan_fusion(order, new_roots, /*fuse=*/true);
  std::string text;
  for (const passes::FusedGroup& g : plan.groups) {
    if (g.kind == passes::FusedGroup::Extern) {
      text += "extern " + std::string(ir::op_name(g.root->op)) + "\n";
      continue;
    }
    if (g.kind == passes::FusedGroup::Alias) {
      text += "alias reshape\n";
      continue;
    }
    codegen::KernelSpec spec{g.root, g.extra_outputs, g.domain, g.reduce_axes, g.reductions,
                             [&plan](const ir::Node* n) { return plan.materialized(n); }, true};
    std::string kernel = codegen::print_kernel(codegen::lower(spec).kernel);
    // Every golden kernel also reads back to itself (codegen/kernel_parser.h).
    EXPECT_EQ(codegen::print_kernel(codegen::parse_kernels(kernel).at(0)), kernel);
    text += kernel;
  }
  // Names are structural hashes: the structure below is what is pinned. Source lines are
  // checked apart (ValuesKeepTheUsersLines).
  if (!keep_locations) text = std::regex_replace(text, std::regex("  loc\\([^)]*\\)"), "");
  return std::regex_replace(text, std::regex("kiln_[0-9a-f]{16}"), "kiln_<hash>");
}

Tensor input(Shape shape) { return (arange(numel(shape), dtype(kFloat32)).reshape(shape) * 0.01).eval(); }

// Each value names the line of the op that computes it; values no line computes (a load of a
// buffer made elsewhere keeps that buffer's line) follow their node.
TEST(KernelIr, ValuesKeepTheUsersLines) {
  Tensor x = input({4, 8});
  Tensor y = (x * 2).exp();  int y_line = __LINE__;
  Tensor z = softmax(y, 1);  int z_line = __LINE__;
  std::string text = kernels_of({z}, /*keep_locations=*/true);
  std::string file = __FILE__;
  EXPECT_NE(text.find("= exp v2 : f32  loc(" + file + ":" + std::to_string(y_line) + ")"), std::string::npos) << text;
  EXPECT_NE(text.find("= reduce_max over inner of"), std::string::npos) << text;
  EXPECT_NE(text.find("= acc0 : f32  loc(" + file + ":" + std::to_string(z_line) + ")"), std::string::npos) << text;
}

TEST(KernelIr, W1GeluTimesSigmoid) {
  Tensor x = input({64});
  std::string got = kernels_of({gelu(x * 1.5 + 0.5, "tanh") * sigmoid(x)});
  EXPECT_EQ(got, R"(kernel kiln_<hash>(a0: f32[N*1], value a1: f32[1], value a2: f32[1], out a3: f32[N*1])
  outer [N]  inner []
  v0 = load a0[i0] : f32
  v1 = load a1[0] : f32
  v2 = mul v0, v1 : f32
  v3 = load a2[0] : f32
  v4 = add v2, v3 : f32
  v5 = mul v4, v4 : f32
  v6 = mul v5, v4 : f32
  v7 = const 0.044714998453855515 : f32
  v8 = mul v6, v7 : f32
  v9 = add v4, v8 : f32
  v10 = const -1.5957691669464111 : f32
  v11 = mul v9, v10 : f32
  v12 = exp v11 : f32
  v13 = const 1.0 : f32
  v14 = add v12, v13 : f32
  v15 = div v4, v14 : f32
  v16 = neg v0 : f32
  v17 = exp v16 : f32
  v18 = add v13, v17 : f32
  v19 = div v13, v18 : f32
  v20 = mul v15, v19 : f32
  a3[i0] = v20
)") << got;
}

// One kernel; each element's exp is computed once (stored by the sum's loop, loaded back by the
// store loop, which reads nothing else per element): the input is read by the two reductions.
TEST(KernelIr, RowSoftmax) {
  std::string got = kernels_of({softmax(input({8, 32}), 1)});
  EXPECT_EQ(got, R"(kernel kiln_<hash>(a0: f32[N*32], out a1: f32[N*32])
  outer [N]  inner [32]
  v0 = load a0[(i0*32 + i1)] : f32
  v1 = acc0 : f32
  v2 = sub v0, v1 : f32
  v3 = exp v2 : f32
  v4 = acc1 : f32
  v5 = const 1.0 : f32
  v6 = div v5, v4 : f32
  v7 = load a1[(i0*32 + i1)] : f32
  v8 = mul v7, v6 : f32
  acc0 = reduce_max over inner of v0
  acc1 = reduce_sum over inner of v3
    stores a1[(i0*32 + i1)] = v3
  for inner:
    a1[(i0*32 + i1)] = v8
)") << got;
}

// A hidden layer's backward: the bias gradient's column sum computes the ReLU-masked gradient
// and writes it (a3, an extra output) in its reduction loop, for the matmul to read; the sum
// itself is a4. One pass over the gradient instead of a mask kernel and a sum kernel.
TEST(KernelIr, BiasGradientSumWritesTheReluMask) {
  Tensor pre = input({8, 16}), g = input({8, 16}), w = input({16, 4});
  Tensor masked = where(pre > 0, g, zeros_like(g));
  std::string got = kernels_of({masked.matmul(w), masked.sum({0})});
  EXPECT_EQ(got, R"(kernel kiln_<hash>(a0: f32[N*16], value a1: f32[1], a2: f32[N*16], out a3: f32[N*16], out a4: f32[16])
  outer [16]  inner [N]
  v0 = load a0[(i1*16 + i0)] : f32
  v1 = load a1[0] : f32
  v2 = gt v0, v1 : i1
  v3 = load a2[(i1*16 + i0)] : f32
  v4 = const 0.0 : f32
  v5 = where v2, v3, v4 : f32
  v6 = acc0 : f32
  acc0 = reduce_sum over inner of v5
    stores a3[(i1*16 + i0)] = v5
  a4[i0] = v6
extern matmul
alias reshape
)") << got;
}

// A prediction: argmax of a softmax is one kernel; the argmax keeps the position i1 beside its
// running maximum and reads as that position (int64).
TEST(KernelIr, ArgmaxOfRowSoftmax) {
  std::string got = kernels_of({softmax(input({8, 32}), 1).argmax(1)});
  EXPECT_EQ(got, R"(kernel kiln_<hash>(a0: f32[N*32], out a1: i64[N*1])
  outer [N]  inner [32]
  v0 = load a0[(i0*32 + i1)] : f32
  v1 = acc0 : f32
  v2 = sub v0, v1 : f32
  v3 = exp v2 : f32
  v4 = acc1 : f32
  v5 = const 1.0 : f32
  v6 = div v5, v4 : f32
  v7 = mul v3, v6 : f32
  v8 = acc2 : i64
  acc0 = reduce_max over inner of v0
  acc1 = reduce_sum over inner of v3
  acc2 = argmax over inner of v7 at i1
  a1[i0] = v8
alias reshape
)") << got;
}

TEST(KernelIr, LayerNorm) {
  Tensor x = input({8, 32}), w = input({32}), b = input({32});
  Tensor mu = x.mean({1}, true);
  Tensor d = x - mu;
  Tensor var = (d * d).mean({1}, true);
  std::string got = kernels_of({d * rsqrt(var + 1e-5) * w + b});
  EXPECT_EQ(got, R"(kernel kiln_<hash>(a0: f32[N*32], value a1: f32[1], value a2: f32[1], value a3: f32[1], a4: f32[32], a5: f32[32], out a6: f32[N*32])
  outer [N]  inner [32]
  v0 = load a0[(i0*32 + i1)] : f32
  v1 = acc0 : f32
  v2 = load a1[0] : f32
  v3 = div v1, v2 : f32
  v4 = sub v0, v3 : f32
  v5 = mul v4, v4 : f32
  v6 = acc1 : f32
  v7 = const 1.0 : f32
  v8 = load a2[0] : f32
  v9 = div v6, v8 : f32
  v10 = load a3[0] : f32
  v11 = add v9, v10 : f32
  v12 = sqrt v11 : f32
  v13 = div v7, v12 : f32
  v14 = mul v4, v13 : f32
  v15 = load a4[i1] : f32
  v16 = mul v14, v15 : f32
  v17 = load a5[i1] : f32
  v18 = add v16, v17 : f32
  acc0 = reduce_sum over inner of v0
  acc1 = reduce_sum over inner of v5
  for inner:
    a6[(i0*32 + i1)] = v18
)") << got;
}

TEST(KernelIr, DropoutMaskFusedIntoItsProduct) {
  manual_seed(1);
  Tensor x = input({16, 8});
  std::string got = kernels_of({(x * 2).relu() * bernoulli(x, 0.9) / 0.9});
  EXPECT_EQ(got, R"(kernel kiln_<hash>(a0: f32[N*8], value a1: f32[1], value a2: i64[2], value a3: f32[1], value a4: f32[1], out a5: f32[N*8])
  outer [N, 8]  inner []
  v0 = load a0[(i0*8 + i1)] : f32
  v1 = load a1[0] : f32
  v2 = mul v0, v1 : f32
  v3 = const 0.0 : f32
  v4 = le v2, v3 : i1
  v5 = where v4, v3, v2 : f32
  v6 = philox_uniform a2 at (i0*8 + i1) : f32
  v7 = load a3[0] : f32
  v8 = lt v6, v7 : i1
  v9 = cast v8 : f32
  v10 = mul v5, v9 : f32
  v11 = load a4[0] : f32
  v12 = div v10, v11 : f32
  a5[(i0*8 + i1)] = v12
)") << got;
}

TEST(KernelIr, BackwardOfLinearReluAndLogSoftmax) {
  Tensor x = input({8, 16}), w = input({16, 4}).requires_grad_(), b = input({4}).requires_grad_();
  Tensor loss = -log_softmax((x.matmul(w) + b).relu(), 1).sum();
  std::vector<Tensor> grads = autograd::grad({loss}, {w, b});
  std::string got = kernels_of({grads[0], grads[1]});
  EXPECT_EQ(got, R"(extern matmul
kernel kiln_<hash>(a0: f32[N*4], a1: f32[4], out a2: f32[N*4])
  outer [N]  inner [4]
  v0 = const 1.0 : f32
  v1 = acc0 : f32
  v2 = load a0[(i0*4 + i1)] : f32
  v3 = load a1[i1] : f32
  v4 = add v2, v3 : f32
  v5 = const 0.0 : f32
  v6 = le v4, v5 : i1
  v7 = where v6, v5, v4 : f32
  v8 = acc1 : f32
  v9 = sub v7, v8 : f32
  v10 = exp v9 : f32
  v11 = acc2 : f32
  v12 = const -1.0 : f32
  v13 = div v1, v11 : f32
  v14 = mul v13, v10 : f32
  v15 = add v12, v14 : f32
  v16 = where v6, v5, v15 : f32
  acc0 = reduce_sum over inner of v0
  acc1 = reduce_max over inner of v7
  acc2 = reduce_sum over inner of v10
  for inner:
    a2[(i0*4 + i1)] = v16
extern matmul
kernel kiln_<hash>(a0: f32[N*4], out a1: f32[4])
  outer [4]  inner [N]
  v0 = load a0[(i1*4 + i0)] : f32
  v1 = acc0 : f32
  acc0 = reduce_sum over inner of v0
  a1[i0] = v1
alias reshape
)") << got;
}

}  // namespace
}  // namespace kiln
