// What kiln-opt works on: a parsed graph (its outputs and input buffers) and, once planned, its
// fusion plan with each kernel lowered.
#pragma once

#include <optional>
#include <unordered_map>
#include <vector>

#include "codegen/lower.h"
#include "ir/node.h"
#include "passes/fusion.h"

namespace kiln::tools {

struct Module {
  std::vector<ir::NodePtr> outputs;
  std::vector<ir::NodePtr> inputs;  // buffers that are not runtime scalars, in order
  struct Plan {
    passes::FusionPlan fusion;
    std::vector<std::optional<codegen::LoweredKernel>> kernels;  // per group; empty but for kernels
  };
  std::optional<Plan> plan;  // made by --fuse, or on demand by emitters that need kernels
};

// The fusion plan of m's current graph (fusion on or off), with each kernel group lowered.
Module::Plan plan_module(const Module& m, bool fuse);

// `outputs`' graph rebuilt with each node in `replace` swapped for its replacement. Sources are
// kept; every other node is built anew when `all` (so its part in autograd is set again from its
// inputs), else only where an input changed.
std::vector<ir::NodePtr> rebuild(const std::vector<ir::NodePtr>& outputs,
                                 const std::unordered_map<const ir::Node*, ir::NodePtr>& replace, bool all);

}  // namespace kiln::tools
