#include "runtime/executor.h"

#include <array>
#include <cstring>
#include <unordered_set>

#include "codegen/runtime_extent.h"
#include "ir/printer.h"
#include "passes/simplify.h"
#include "runtime/dump.h"
#include "runtime/backend.h"
#include "runtime/kernel_cache.h"
#include "runtime/schedule.h"
#include "runtime/stats.h"

namespace kiln::runtime {

void execute(const std::vector<ir::NodePtr>& outputs, ScheduleOptions options) {
  std::vector<ir::NodePtr> roots;
  std::vector<const ir::Node*> root_nodes;
  for (const ir::NodePtr& o : outputs)
    if (!o->is_buffer()) roots.push_back(o), root_nodes.push_back(o.get());
  if (roots.empty()) return;
  std::vector<const ir::Node*> order = ir::topological_order(root_nodes);
  for (const ir::Node* n : order)
    check(has_backend(n->device), "evaluate", n->loc, [&] { return "no backend runs " + n->device.str() + " in this build"; });
  std::shared_ptr<const Schedule> schedule = schedule_for(order, roots, options);

  std::vector<std::shared_ptr<ir::Storage>> values(schedule->num_slots);
  for (size_t i = 0; i < order.size(); ++i)
    if (order[i]->is_buffer()) values[i] = order[i]->storage;
  const DumpOptions& dump = dump_options();
  bool dumping = dump.any() && dumps_evaluation(schedule);
  std::vector<RanKernel> ran;
  std::vector<void*> args;
  std::vector<std::array<int64_t, 2>> random_params;
  for (size_t i = 0; i < schedule->steps.size(); ++i) {
    const ScheduleStep& step = schedule->steps[i];
    args.clear();
    random_params.clear();
    random_params.reserve(step.inputs.size());  // no reallocation: args point into it
    for (size_t i = 0; i < step.inputs.size(); ++i) {
      int p = step.inputs[i];
      if (step.random_params.empty() || !step.random_params[i]) {
        args.push_back(values[p]->data());
        continue;
      }
      const ir::Attrs& a = order[p]->attrs;  // this graph's draw: its seed and offset
      random_params.push_back({static_cast<int64_t>(a.seed), static_cast<int64_t>(a.offset)});
      args.push_back(random_params.back().data());
    }
    std::shared_ptr<ir::Storage> out;
    if (step.kind == ScheduleStep::Alias) {
      out = values[step.inputs[0]];
    } else if (step.kind == ScheduleStep::Kernel) {
      Backend& backend = backend_for(step.device);
      auto allocate_output = [&](size_t arg) {
        int64_t count = codegen::arg_numel(step.kernel, static_cast<int>(arg), step.extent);
        auto storage = backend.allocate(static_cast<size_t>(count) * element_size(step.kernel.args[arg].dtype));
        args.push_back(storage->data());
        return storage;
      };
      for (int slot : step.extra_outputs) values[slot] = allocate_output(args.size());
      out = allocate_output(args.size());
      ++stats().kernels_launched;
      backend.launch(*step.program, step.kernel, args.data(), step.extent);
      if (dumping) ran.push_back({&step.kernel, step.program->artifacts});
    } else {
      const ir::Node& node = step.extern_node ? *step.extern_node : *order[step.root];
      out = backend_for(node.device).allocate(static_cast<size_t>(node.numel()) * element_size(node.dtype));
      backend_for(step.device).run_extern(node, std::vector<const void*>(args.begin(), args.end()), out->data(), step.transposed);
    }
    values[step.root] = std::move(out);
    for (int p : schedule->last_use[i]) values[p].reset();
  }
  if (dumping) {
    // Simplified again for the dump: a cached schedule's graph has the locations and runtime
    // scalar values of the evaluation that built it, not of this one.
    std::string simplified;
    if (dump.graph) {
      std::vector<ir::NodePtr> simplified_roots = passes::simplify(roots);  // owns new nodes
      std::vector<const ir::Node*> nodes;
      for (const ir::NodePtr& n : simplified_roots)
        if (!n->is_buffer()) nodes.push_back(n.get());
      simplified = ir::print_graph(nodes);
    }
    dump_evaluation(root_nodes, simplified, schedule->fusion, ran);
  }
  int64_t computed = 0;
  for (const ir::Node* n : order) computed += !n->is_buffer();
  stats().nodes_evaluated += computed;
  ++stats().graphs_evaluated;
  // An output the passes reduced to an input buffer, or to the same value as another output,
  // gets its own copy: tensors never share memory they did not share in PyTorch.
  // All values are settled before any root is materialized: materializing releases graph edges,
  // which may free nodes `order` still points to.
  std::unordered_set<const ir::Storage*> given;
  std::unordered_set<const ir::Node*> settled;
  std::vector<std::shared_ptr<ir::Storage>> results(roots.size());
  for (size_t r = 0; r < roots.size(); ++r) {
    if (!settled.insert(roots[r].get()).second) continue;  // the same node requested twice
    std::shared_ptr<ir::Storage> v = values[schedule->outputs[r]];
    int s = schedule->outputs[r];
    if ((s < static_cast<int>(order.size()) && order[s]->is_buffer()) || !given.insert(v.get()).second) {
      Backend& backend = backend_for(roots[r]->device);
      auto copy = backend.allocate(v->bytes());
      // A runtime scalar is in host memory on every device (kernels take it by value).
      if (!roots[r]->device.is_cpu() && !v->device_memory()) backend.copy_from_host(copy->data(), v->data(), v->bytes());
      else backend.copy(copy->data(), v->data(), v->bytes());
      v = std::move(copy);
    }
    results[r] = std::move(v);
  }
  for (size_t r = 0; r < roots.size(); ++r)
    if (results[r]) roots[r]->materialize(std::move(results[r]));
}

}  // namespace kiln::runtime
