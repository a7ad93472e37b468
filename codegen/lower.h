// Lowers one fused group of graph nodes to a Kernel: movement ops become index arithmetic,
// elementwise ops become the value DAG, absorbed reductions become accumulators.
#pragma once

#include <functional>
#include <vector>

#include "codegen/kernel.h"
#include "ir/node.h"

namespace kiln::codegen {

struct KernelSpec {
  const ir::Node* root;                          // the node the kernel materializes
  std::vector<const ir::Node*> extra_outputs;    // other nodes it writes, each over the domain
  Shape domain;                                  // the iteration space
  std::vector<int64_t> reduce_axes;              // axes of `domain` looped over innermost and reduced
  std::vector<const ir::Node*> reductions;       // reductions computed as accumulators, in order
  std::function<bool(const ir::Node*)> materialized;  // nodes read from buffers
  // Make the extent of domain axis 0 (the batch) a launch argument where the kernel allows it
  // (codegen/runtime_extent.h).
  bool runtime_extent = false;
};

struct LoweredKernel {
  Kernel kernel;
  // The node whose buffer is each argument, or, where `random_params` says so, the random node
  // whose {seed, offset} (two int64) the argument holds. The outputs come last: the extra outputs
  // in the spec's order, then the root.
  std::vector<const ir::Node*> args;
  std::vector<bool> random_params;
  int64_t extent = 0;                 // the runtime extent to launch with, when kernel has one
};

LoweredKernel lower(const KernelSpec& spec);

}  // namespace kiln::codegen
