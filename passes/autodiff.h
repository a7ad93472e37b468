// Reverse-mode differentiation as a graph transform (docs/AUTOGRAD.md): it appends to the graph
// the nodes that compute gradients, built by each primitive's rule in vjp.cc, so forward and
// backward are one graph that fuses, compiles and caches like any other, and that can itself be
// differentiated when the transform runs in grad mode.
#pragma once

#include <unordered_map>
#include <vector>

#include "ir/node.h"

namespace kiln::passes {

// The nodes gradients flow through from `outputs`: Derived nodes and, as leaves, Variables,
// each after those it is differentiated into. Raises kiln::Error at `loc` if an earlier
// backward without retain_graph released one of them.
std::vector<ir::NodePtr> gradient_graph(const std::vector<ir::NodePtr>& outputs, SourceLoc loc);

// For each of `wrt`, the gradient of sum_i <outputs[i], cotangents[i]>: the vector-Jacobian
// product, null where `wrt` does not reach the outputs. `graph` is gradient_graph(outputs). When
// `origins` is given, it maps each node the transform built to the forward node whose rule built
// it.
std::vector<ir::NodePtr> differentiate(const std::vector<ir::NodePtr>& graph, const std::vector<ir::NodePtr>& outputs,
                                       const std::vector<ir::NodePtr>& cotangents, const std::vector<ir::NodePtr>& wrt,
                                       std::unordered_map<const ir::Node*, const ir::Node*>* origins = nullptr);

// Marks a gradient graph as used up (a backward without retain_graph): its recipes and custom
// rules are freed, and differentiating through it again raises kiln::Error.
void release(const std::vector<ir::NodePtr>& gradient_graph);

}  // namespace kiln::passes
