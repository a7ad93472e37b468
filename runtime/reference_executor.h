// The reference executor: evaluates a graph node by node in plain C++, one loop nest per node,
// with no fusion. It is the numeric oracle for every compiled backend and the "unfused" baseline.
#pragma once

#include <vector>

#include "ir/node.h"

namespace kiln::runtime {

// Computes every output that is not yet a Buffer, in one pass over their joint graph, and
// turns each output node into a Buffer holding its value.
void evaluate_reference(const std::vector<ir::NodePtr>& outputs);

}  // namespace kiln::runtime
