// Runtime scalars in simplification: a scalar the user passes is a one-element buffer, so a new
// value between steps compiles nothing. Simplification never looks at its value (not even 0 or
// 1: a learning rate passing through them must not change the schedule); reshape sinking moves
// over it as over a constant.
#include "passes/simplify.h"
#include "passes/simplify_rules.h"

namespace kiln::passes {

using ir::Node;
using ir::NodePtr;
using ir::Op;

const NodePtr* runtime_scalar(const NodePtr& n) {
  const NodePtr* x = &n;
  while ((*x)->op == Op::Reshape || (*x)->op == Op::Expand) x = &(*x)->inputs[0];
  return (*x)->is_buffer() && (*x)->runtime_scalar ? x : nullptr;
}

}  // namespace kiln::passes
