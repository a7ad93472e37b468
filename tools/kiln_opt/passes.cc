#include "tools/kiln_opt/passes.h"

#include "ir/ops.h"
#include "ir/printer.h"
#include "passes/autodiff.h"
#include "passes/cse.h"
#include "passes/simplify.h"

namespace kiln::tools {

namespace {

// Gradients of the sum of the first output's elements with respect to every floating input
// buffer, appended to the outputs (an input the output does not depend on gets none).
void autodiff(Module& m) {
  if (m.outputs.empty()) return;
  std::vector<ir::NodePtr> wrt;
  for (const ir::NodePtr& in : m.inputs)
    if (is_floating(in->dtype)) in->grad = ir::Grad::Variable, wrt.push_back(in);
  m.outputs = rebuild(m.outputs, {}, /*all=*/true);  // nodes over the inputs now become Derived
  const ir::NodePtr& y = m.outputs[0];
  std::vector<ir::NodePtr> graph = passes::gradient_graph({y}, y->loc);
  ir::NodePtr seed = ir::full(Scalar(1.0), y->shape, y->dtype, y->loc);
  for (const ir::NodePtr& g : passes::differentiate(graph, {y}, {seed}, wrt))
    if (g) m.outputs.push_back(g);
}

}  // namespace

Module::Plan plan_module(const Module& m, bool fuse) {
  Module::Plan p;
  std::vector<const ir::Node*> roots;
  for (const ir::NodePtr& o : m.outputs)
    if (!o->is_buffer()) roots.push_back(o.get());
  p.fusion = passes::plan_fusion(ir::topological_order(roots), roots, fuse);
  for (const passes::FusedGroup& g : p.fusion.groups) {
    if (g.kind != passes::FusedGroup::Kernel) {
      p.kernels.emplace_back();
      continue;
    }
    p.kernels.push_back(codegen::lower({g.root, g.extra_outputs, g.domain, g.reduce_axes, g.reductions,
                                        [&plan = p.fusion](const ir::Node* n) { return plan.materialized(n); },
                                        /*runtime_extent=*/true}));
  }
  return p;
}

const std::vector<Pass>& all_passes() {
  static const std::vector<Pass> passes = {
      {"simplify", "constant folding, identities, reshape sinking, CSE and DCE to a fixed point (passes/simplify.h)",
       [](Module& m, bool) { m.outputs = passes::simplify(m.outputs); }},
      {"cse", "merge structurally equal nodes only (passes/cse.h)",
       [](Module& m, bool) { m.outputs = passes::eliminate_common_subexpressions(m.outputs); }},
      {"autodiff", "append the gradients of the first output's sum with respect to every input buffer",
       [](Module& m, bool) { autodiff(m); }},
      {"fuse", "plan fusion and lower each kernel (the plan later --emit=kernels and friends use)",
       [](Module& m, bool fuse) { m.plan = plan_module(m, fuse); }},
  };
  return passes;
}

}  // namespace kiln::tools
