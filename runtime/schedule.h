// A schedule: the steps that evaluate a graph (fused kernels compiled to code, extern ops). Values
// live in numbered slots: slot i < order.size() is the node at position i of the recorded graph's
// topological order; higher slots hold intermediates the passes created. Schedules are cached by
// the recorded graph's structure, so a training step that records the same graph again pays one
// pass over its nodes (the signature) and no simplification, fusion, lowering or compilation.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codegen/kernel.h"
#include "runtime/kernel_cache.h"
#include "ir/node.h"

namespace kiln::runtime {

struct ScheduleStep {
  // Alias: a reshape of a value computed by an earlier step takes that value's memory (the
  // row-major order is unchanged), so it costs no kernel.
  enum Kind { Kernel, Extern, Alias };
  int root;                    // slot this step writes
  // Kernel step: slots of the other values it writes (fusion's extra outputs). The kernel's last
  // arguments are its outputs: these, in order, then the root.
  std::vector<int> extra_outputs;
  Kind kind;
  codegen::Kernel kernel;      // kernel step: the code to launch
  Device device;               // where the step runs: its root's device; a transfer's non-CPU end
  std::shared_ptr<const Program> program;  // kernel step: its compiled code, kept alive
  int64_t extent = 0;          // kernel step: its runtime extent in this graph
  // Extern step: the node to run. Null when it is the recorded node in slot `root`, whose
  // attributes (a random op's seed and offset) must then be read from the current graph.
  ir::NodePtr extern_node;
  std::vector<int> inputs;     // slots it reads, in argument order (alias: the one it reshapes)
  // Kernel step: input i is not the slot's value but its random node's {seed, offset}, read from
  // the graph being evaluated (the schedule serves every draw).
  std::vector<bool> random_params;
  std::vector<bool> transposed;  // extern step: input i is read with its last two axes swapped
};

struct Schedule {
  std::vector<ScheduleStep> steps;
  std::vector<std::vector<int>> last_use;  // per step: slots whose last reader it is
  std::vector<int> outputs;                // per requested root: the slot holding its value
  int num_slots = 0;
  std::string fusion;                      // which step computes which node (KILN_DUMP=fused)
};

// How a schedule is built: fusion on or off; batch extents runtime or compiled in.
struct ScheduleOptions {
  bool fuse = true;
  bool runtime_extents = true;
};

// The schedule for the graph whose topological order is `order`, computing `roots`.
std::shared_ptr<const Schedule> schedule_for(const std::vector<const ir::Node*>& order,
                                             const std::vector<ir::NodePtr>& roots, ScheduleOptions options);

}  // namespace kiln::runtime
