#include "runtime/reference_executor.h"

#include <cstring>
#include <unordered_map>

#include "ir/printer.h"
#include "runtime/reference/kernels.h"
#include "runtime/stats.h"

namespace kiln::runtime {

void reference::run_node(const ir::Node& n, const Inputs& in, void* out) {
  switch (ir::op_kind(n.op)) {
    case ir::OpKind::Source: return reference::run_source(n, out);
    case ir::OpKind::Unary:
    case ir::OpKind::Binary:
    case ir::OpKind::Compare:
    case ir::OpKind::Select:
    case ir::OpKind::Cast: return reference::run_elementwise(n, in, out);
    case ir::OpKind::Reduce: return reference::run_reduce(n, in, out);
    case ir::OpKind::Movement: return reference::run_movement(n, in, out);
    case ir::OpKind::Contraction: return reference::run_matmul(n, in, out);
    // The reference executor works in host memory whatever the device: a transfer is a copy.
    case ir::OpKind::Transfer: std::memcpy(out, in[0], static_cast<size_t>(n.numel()) * element_size(n.dtype)); return;
  }
}

void evaluate_reference(const std::vector<ir::NodePtr>& outputs) {
  std::vector<const ir::Node*> roots;
  for (const ir::NodePtr& o : outputs)
    if (!o->is_buffer()) roots.push_back(o.get());
  if (roots.empty()) return;
  std::vector<const ir::Node*> order = ir::topological_order(roots);

  // Remaining uses of each value, so an intermediate is freed right after its last consumer.
  std::unordered_map<const ir::Node*, int64_t> uses;
  for (const ir::Node* n : order)
    for (const ir::NodePtr& in : n->inputs) ++uses[in.get()];
  for (const ir::Node* r : roots) ++uses[r];

  std::unordered_map<const ir::Node*, std::shared_ptr<ir::Storage>> values;
  for (const ir::Node* n : order) {
    if (n->is_buffer()) {
      values[n] = n->storage;
      continue;
    }
    reference::Inputs in;
    for (const ir::NodePtr& i : n->inputs) in.push_back(values.at(i.get())->data());
    auto out = ir::Storage::allocate(static_cast<size_t>(n->numel()) * element_size(n->dtype));
    reference::run_node(*n, in, out->data());
    values[n] = std::move(out);
    ++stats().nodes_evaluated;
    for (const ir::NodePtr& i : n->inputs)
      if (--uses[i.get()] == 0) values.erase(i.get());
  }
  ++stats().graphs_evaluated;
  for (const ir::NodePtr& o : outputs)
    if (!o->is_buffer()) o->materialize(values.at(o.get()));
}

}  // namespace kiln::runtime
