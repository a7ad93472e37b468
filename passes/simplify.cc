#include "passes/simplify.h"

#include <unordered_map>

#include "ir/printer.h"
#include "passes/cse.h"
#include "passes/simplify_rules.h"

namespace kiln::passes {

using ir::Node;
using ir::NodePtr;

namespace {

// The replacement of `n` by the first rule that applies, or null.
NodePtr rewrite(const NodePtr& n) {
  if (NodePtr folded = fold_constants(n)) return folded;
  if (NodePtr simpler = apply_identities(n)) return simpler;
  return sink_reshape(n);
}

// One bottom-up sweep over a graph. Each node is visited after its inputs, so the rules always see
// simplified inputs, and a node a rule builds is simplified again at once: one sweep normally
// reaches the fixed point, and simplify() runs a second to confirm it.
class Sweep {
 public:
  std::vector<NodePtr> run(const std::vector<NodePtr>& outputs);
  bool changed() const { return changed_; }

 private:
  NodePtr with_simplified_inputs(const NodePtr& n);
  NodePtr normalize(NodePtr n);

  std::unordered_map<const Node*, NodePtr> simplified_;  // original node -> its replacement
  CseTable cse_;
  bool changed_ = false;
};

std::vector<NodePtr> Sweep::run(const std::vector<NodePtr>& outputs) {
  std::vector<const Node*> roots;
  for (const NodePtr& o : outputs) roots.push_back(o.get());
  std::vector<const Node*> order = ir::topological_order(roots);
  // topological_order yields raw pointers; reusing a node needs its owning pointer.
  std::unordered_map<const Node*, NodePtr> owner;
  for (const NodePtr& o : outputs) owner.emplace(o.get(), o);
  for (const Node* n : order)
    for (const NodePtr& in : n->inputs) owner.emplace(in.get(), in);
  for (const Node* n : order) simplified_[n] = normalize(with_simplified_inputs(owner.at(n)));
  std::vector<NodePtr> result;
  for (const NodePtr& o : outputs) result.push_back(simplified_.at(o.get()));
  return result;
}

// `n` itself when none of its inputs changed (sharing the untouched subgraph), else a copy over
// the new inputs: nodes are never modified, since other graphs may hold them.
NodePtr Sweep::with_simplified_inputs(const NodePtr& n) {
  std::vector<NodePtr> inputs;
  bool same = true;
  for (const NodePtr& in : n->inputs) {
    inputs.push_back(simplified_.at(in.get()));
    same = same && inputs.back() == in;
  }
  if (same) return n;
  changed_ = true;
  return n->rebuilt(std::move(inputs));
}

// Applies the rules until none does (each leaves fewer ops below the node, so this ends), then merges
// the result with an equal node seen before.
NodePtr Sweep::normalize(NodePtr n) {
  for (uint64_t since = Node::next_serial(); NodePtr r = rewrite(n); since = Node::next_serial()) {
    // A node a rule built stands for the node it replaces, in dumps too: it keeps the composite.
    if (r->serial >= since && !r->composite) r->composite = n->composite;
    n = std::move(r);
    changed_ = true;
  }
  NodePtr canonical = cse_.intern(n);
  if (canonical != n) changed_ = true;
  return canonical;
}

// Sweeps after which the graph must be stable; one or two are needed in practice.
constexpr int kMaxSweeps = 8;

}  // namespace

std::vector<NodePtr> simplify(const std::vector<NodePtr>& outputs) {
  std::vector<NodePtr> current = outputs;
  for (int i = 0; i < kMaxSweeps; ++i) {
    Sweep sweep;
    current = sweep.run(current);
    if (!sweep.changed()) break;
  }
  return current;
}

}  // namespace kiln::passes
