#include "ir/ops.h"
#include "passes/simplify_rules.h"

namespace kiln::passes {

using ir::NodePtr;
using ir::Op;
using ir::OpKind;

NodePtr sink_reshape(const NodePtr& n) {
  OpKind kind = ir::op_kind(n->op);
  bool elementwise = kind == OpKind::Unary || kind == OpKind::Binary || kind == OpKind::Compare ||
                     kind == OpKind::Select || kind == OpKind::Cast;
  if (!elementwise) return nullptr;
  // Every operand must be a reshape from one common shape, or a constant (a runtime scalar too).
  const Shape* from = nullptr;
  for (const NodePtr& in : n->inputs) {
    if (full_value(*in) || runtime_scalar(in)) continue;
    if (in->op != Op::Reshape || (from && in->inputs[0]->shape != *from)) return nullptr;
    from = &in->inputs[0]->shape;
  }
  if (!from) return nullptr;
  std::vector<NodePtr> inputs;
  for (const NodePtr& in : n->inputs) {
    if (const Scalar* c = full_value(*in)) {
      inputs.push_back(ir::full(*c, *from, in->dtype, in->loc, in->device));
    } else if (const NodePtr* s = runtime_scalar(in)) {
      inputs.push_back(ir::expand(ir::reshape(*s, Shape(from->size(), 1), in->loc), *from, in->loc));
    } else {
      inputs.push_back(in->inputs[0]);
    }
  }
  NodePtr inner = n->rebuilt(std::move(inputs), *from);
  return ir::reshape(std::move(inner), n->shape, n->loc);
}

}  // namespace kiln::passes
