// The driver from recorded graph to values: plans fusion (passes/), lowers each kernel
// (codegen/), compiles it through the kernel cache and runs the steps (runtime/).
#pragma once

#include <vector>

#include "ir/node.h"

namespace kiln::detail {

// Computes the outputs that are not yet buffers and turns each into a buffer holding its value.
void evaluate(const std::vector<ir::NodePtr>& outputs);

}  // namespace kiln::detail
