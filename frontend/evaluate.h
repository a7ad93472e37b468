// The driver from recorded graph to values: plans fusion (passes/), lowers each kernel
// (codegen/), compiles it through the kernel cache and runs the steps (runtime/).
#pragma once

#include <vector>

#include "ir/node.h"

namespace kiln::detail {

// Computes the outputs that are not yet buffers and turns each into a buffer holding its value,
// together with the state this thread changed in place since its last evaluation
// (take_pending_updates in tensor_impl.h) unless `with_pending_updates` is false.
void evaluate(const std::vector<ir::NodePtr>& outputs, bool with_pending_updates = true);

}  // namespace kiln::detail
