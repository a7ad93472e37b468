// The textual IR: one SSA line per node, numbered in a stable topological order, e.g.
//   %2 = add %0, %1 : f32[4, 3]  loc(model.cc:12)
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "ir/node.h"

namespace kiln::ir {

// Nodes reachable from `outputs`, each after its inputs; inputs are visited in operand order so
// the numbering depends only on the graph's structure.
std::vector<const Node*> topological_order(const std::vector<const Node*>& outputs);

// `note`, when given, adds a comment to a node's line (empty: none).
using NodeNote = std::function<std::string(const Node&, const std::function<std::string(const Node*)>& name)>;
std::string print_graph(const std::vector<const Node*>& outputs, const NodeNote& note = {});

}  // namespace kiln::ir
