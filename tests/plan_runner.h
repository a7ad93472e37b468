// Runs a graph by its fusion plan without the executor, for tests of lowering and of code
// generators: each kernel group is lowered and handed to a KernelRunner (the kernel IR
// interpreter, or generated code compiled another way), extern groups (matmul) run through the
// CPU backend's library calls.
#pragma once

#include <array>
#include <functional>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "codegen/lower.h"
#include "ir/printer.h"
#include "kiln/kiln.h"
#include "passes/fusion.h"
#include "runtime/cpu/blas_ops.h"

namespace kiln::testing {

// Runs a lowered kernel over its whole outer space (at its runtime extent, when it has one); args:
// one pointer per argument, outputs last.
using KernelRunner = std::function<void(const codegen::LoweredKernel& k, void** args)>;

struct PlannedGraph {
  std::vector<const ir::Node*> order;
  passes::FusionPlan plan;
  std::vector<std::optional<codegen::LoweredKernel>> lowered;  // per group; empty for externs
};

// `t`'s fusion plan with each kernel group lowered (t must stay alive while it is used), with the
// batch extent a launch argument where the kernel allows it when `runtime_extents`, as the
// executor lowers.
inline PlannedGraph plan_graph(const ir::NodePtr& root, bool fuse, bool runtime_extents = false) {
  PlannedGraph g;
  std::vector<const ir::Node*> roots = {root.get()};
  g.order = ir::topological_order(roots);
  g.plan = passes::plan_fusion(g.order, roots, fuse);
  for (const passes::FusedGroup& group : g.plan.groups) {
    if (group.kind != passes::FusedGroup::Kernel) {
      g.lowered.emplace_back();
      continue;
    }
    g.lowered.push_back(codegen::lower({group.root, group.extra_outputs, group.domain, group.reduce_axes,
                                        group.reductions,
                                        [&plan = g.plan](const ir::Node* n) { return plan.materialized(n); },
                                        runtime_extents}));
  }
  return g;
}

// Evaluates `t` by its plan with `run` for each kernel; the value (as double) goes to `out`.
// Returns the number of kernels run.
inline int run_plan(const ir::NodePtr& root_node, const PlannedGraph& g, const KernelRunner& run,
                    std::vector<double>& out) {
  const ir::Node* root = root_node.get();
  std::unordered_map<const ir::Node*, std::shared_ptr<ir::Storage>> values;
  if (root->is_buffer()) values[root] = root->storage;
  auto value_of = [&](const ir::Node* n) { return n->is_buffer() ? n->storage : values.at(n); };
  auto allocate = [](const ir::Node* n) { return ir::Storage::allocate(n->numel() * element_size(n->dtype)); };
  int kernels = 0;
  for (size_t i = 0; i < g.plan.groups.size(); ++i) {
    const passes::FusedGroup& group = g.plan.groups[i];
    if (group.kind == passes::FusedGroup::Alias) {  // the reshaped value's buffer
      values[group.root] = values.at(group.root->inputs[0].get());
      continue;
    }
    auto storage = allocate(group.root);
    if (group.kind == passes::FusedGroup::Extern) {
      runtime::reference::Inputs in;
      for (const ir::Node* operand : group.operands) in.push_back(value_of(operand)->data());
      runtime::cpu::run_extern(*group.root, in, storage->data(), group.transposed);
    } else {
      const codegen::LoweredKernel& lowered = *g.lowered[i];
      size_t num_inputs = lowered.args.size() - 1 - group.extra_outputs.size();
      std::vector<void*> args;
      std::vector<std::array<int64_t, 2>> random_params;
      random_params.reserve(lowered.args.size());
      for (size_t a = 0; a < num_inputs; ++a) {
        if (lowered.random_params[a]) {  // a random node's {seed, offset}
          const ir::Attrs& attrs = lowered.args[a]->attrs;
          random_params.push_back({int64_t(attrs.seed), int64_t(attrs.offset)});
          args.push_back(random_params.back().data());
        } else {
          args.push_back(value_of(lowered.args[a])->data());
        }
      }
      for (const ir::Node* e : group.extra_outputs) {
        values[e] = allocate(e);
        args.push_back(values[e]->data());
      }
      args.push_back(storage->data());
      run(lowered, args.data());
      ++kernels;
    }
    values[group.root] = storage;
  }
  std::shared_ptr<ir::Storage> result = values.at(root);
  out.resize(root->numel());
  dispatch_dtype(root->dtype, [&]<typename T>() {
    for (int64_t i = 0; i < root->numel(); ++i) out[i] = static_cast<double>(static_cast<const T*>(result->data())[i]);
  });
  return kernels;
}

inline PlannedGraph plan_graph(const Tensor& t, bool fuse, bool runtime_extents = false) {
  return plan_graph(t.node(), fuse, runtime_extents);
}
inline int run_plan(const Tensor& t, const PlannedGraph& g, const KernelRunner& run, std::vector<double>& out) {
  return run_plan(t.node(), g, run, out);
}

}  // namespace kiln::testing
