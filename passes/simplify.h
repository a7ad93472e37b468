// Graph simplification: constant folding, algebraic and movement identities, common-subexpression
// elimination and dead-code elimination, run to a fixed point.
//
// Every rewrite is exact: the simplified graph computes bit for bit the values the reference
// executor computes for the original (the only freedom taken is which NaN a NaN result is). So
// x * 1 -> x, but not x * 0 -> 0 (NaN, inf) or x - x -> 0; and float x + 0.0 -> x only where x
// cannot be -0.0 (-0.0 + 0.0 is +0.0, which 1 / y would tell apart). See docs/IR.md.
#pragma once

#include <vector>

#include "ir/node.h"

namespace kiln::passes {

// Returns nodes computing the same values as `outputs`, in the same order. Rewritten parts are
// new nodes; untouched subgraphs are shared with the input graph, whose nodes are never modified
// (other tensors may hold them). Only what the outputs reach is kept. Each new node takes the
// source location of the node it replaces; of several merged equal nodes, the first in
// topological order survives with its location.
std::vector<ir::NodePtr> simplify(const std::vector<ir::NodePtr>& outputs);

// What simplification may use of a runtime scalar's value (a one-element buffer: a learning rate,
// a clamp bound): 1 for one, 2 for +0, 3 for -0.0, 0 for anything else. Identities such as x * 1
// and x + 0 apply to runtime scalars of those values; any other value is never looked at. A
// schedule cache key holds this class for every runtime scalar, so a new value of the same class
// reuses the schedule (and compiles nothing) and a value of another class gets its own.
int runtime_scalar_class(const ir::Node& buffer);

}  // namespace kiln::passes
