// The executor: from recorded graph to values. Finds or builds the graph's schedule
// (runtime/schedule.h: simplify, plan fusion, lower, compile through the kernel cache), runs its
// steps (kernels on the thread pool, extern ops through BLAS), frees each intermediate after its
// last reader and turns each output into a buffer. The front end calls it through one entry point.
#pragma once

#include <vector>

#include "ir/node.h"
#include "runtime/schedule.h"

namespace kiln::runtime {

// Computes the outputs that are not yet buffers and turns each into a buffer holding its value.
void execute(const std::vector<ir::NodePtr>& outputs, ScheduleOptions options);

}  // namespace kiln::runtime
