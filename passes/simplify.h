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

}  // namespace kiln::passes
