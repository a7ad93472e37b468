// The vector-Jacobian product of each primitive: the gradient rule autodiff applies per node.
// Every rule is one function in vjp.cc, named after its op; docs/AUTOGRAD.md lists their
// conventions (ties of max/min, the subgradients of abs and pow at 0).
#pragma once

#include <vector>

#include "ir/node.h"

namespace kiln::passes {

// The cotangents of `n`'s inputs given the cotangent `g` of its value: `n` is the node as
// recorded (its op, inputs and attributes) and `out` the node holding its value. An entry is
// null where the input has no gradient (integer and bool inputs, conditions, indices).
std::vector<ir::NodePtr> vjp(const ir::Node& n, const ir::NodePtr& out, const ir::NodePtr& g);

}  // namespace kiln::passes
