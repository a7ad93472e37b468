#include "passes/autodiff.h"

#include <algorithm>
#include <unordered_set>

#include "ir/ops.h"
#include "passes/vjp.h"

namespace kiln::passes {

namespace {

using ir::Grad;
using ir::Node;
using ir::NodePtr;

// The inputs a node passes gradients to: none for leaves, a custom rule's inputs, or the inputs
// it was recorded with.
const std::vector<NodePtr>& gradient_inputs(const Node& n) {
  static const std::vector<NodePtr> none;
  if (n.grad != Grad::Derived) return none;
  if (n.custom_gradient) return n.custom_gradient->inputs;
  return n.recorded().inputs;
}

void accumulate(NodePtr& total, NodePtr g, SourceLoc loc) {
  total = total ? ir::binary(ir::Op::Add, std::move(total), std::move(g), loc) : std::move(g);
}

// Tags the nodes built after `since` that `root` reaches with `origin`.
void tag_new_nodes(const NodePtr& root, uint64_t since, const Node* origin,
                   std::unordered_map<const Node*, const Node*>& origins) {
  std::vector<const Node*> stack = {root.get()};
  while (!stack.empty()) {
    const Node* n = stack.back();
    stack.pop_back();
    if (n->serial < since || !origins.emplace(n, origin).second) continue;
    for (const NodePtr& in : n->inputs) stack.push_back(in.get());
  }
}

}  // namespace

std::vector<NodePtr> gradient_graph(const std::vector<NodePtr>& outputs, SourceLoc loc) {
  std::vector<NodePtr> order;
  std::unordered_set<const Node*> seen;
  std::vector<std::pair<NodePtr, size_t>> stack;  // node, next gradient input to visit
  for (const NodePtr& out : outputs) {
    if (out->grad == Grad::None || !seen.insert(out.get()).second) continue;
    stack.push_back({out, 0});
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      check(!node->grad_released, "backward", loc,
            "trying to backward through the graph a second time (its saved values were freed by the first "
            "backward; the node was recorded at " +
                node->loc.str() + "). Pass retain_graph=true to the first backward to keep them");
      const std::vector<NodePtr>& ins = gradient_inputs(*node);
      if (next < ins.size()) {
        const NodePtr& in = ins[next++];
        if (in->grad != Grad::None && seen.insert(in.get()).second) stack.push_back({in, 0});
        continue;
      }
      order.push_back(std::move(node));
      stack.pop_back();
    }
  }
  return order;
}

std::vector<NodePtr> differentiate(const std::vector<NodePtr>& order, const std::vector<NodePtr>& outputs,
                                   const std::vector<NodePtr>& cotangents, const std::vector<NodePtr>& wrt,
                                   std::unordered_map<const Node*, const Node*>* origins) {
  std::unordered_set<const Node*> targets;
  for (const NodePtr& w : wrt) targets.insert(w.get());

  // Only nodes on a path to a target need gradients.
  std::unordered_set<const Node*> needed;
  std::unordered_map<const ir::CustomGradient*, size_t> custom_outputs_left;
  for (const NodePtr& n : order) {
    bool on_path = targets.count(n.get()) > 0;
    for (const NodePtr& in : gradient_inputs(*n)) on_path = on_path || needed.count(in.get());
    if (!on_path) continue;
    needed.insert(n.get());
    if (n->custom_gradient) ++custom_outputs_left[n->custom_gradient.get()];
  }

  std::unordered_map<const Node*, NodePtr> cotangent;
  for (size_t i = 0; i < outputs.size(); ++i)
    if (needed.count(outputs[i].get())) accumulate(cotangent[outputs[i].get()], cotangents[i], outputs[i]->loc);

  // Nodes tagged in `origins` stay alive until the end, so their addresses are not reused.
  std::vector<NodePtr> tagged;
  auto pass_on = [&](const std::vector<NodePtr>& inputs, const std::vector<NodePtr>& grads, const Node& from,
                     uint64_t since) {
    for (size_t i = 0; i < inputs.size(); ++i) {
      if (!grads[i] || !needed.count(inputs[i].get())) continue;
      accumulate(cotangent[inputs[i].get()], grads[i], from.loc);
      if (!origins) continue;
      tag_new_nodes(grads[i], since, &from, *origins);
      tagged.push_back(grads[i]);
    }
  };
  std::unordered_map<const ir::CustomGradient*, std::vector<NodePtr>> custom_cotangents;
  for (size_t k = order.size(); k-- > 0;) {
    const NodePtr& n = order[k];
    if (n->grad != Grad::Derived || !needed.count(n.get())) continue;
    auto it = cotangent.find(n.get());
    NodePtr g = it == cotangent.end() ? nullptr : it->second;
    if (it != cotangent.end() && !targets.count(n.get())) cotangent.erase(it);
    uint64_t since = Node::next_serial();
    if (const ir::CustomGradient* custom = n->custom_gradient.get()) {
      // A custom rule runs once, when the last of its outputs has its whole cotangent.
      std::vector<NodePtr>& collected = custom_cotangents[custom];
      collected.resize(custom->outputs.size());
      for (size_t o = 0; o < custom->outputs.size(); ++o)
        if (custom->outputs[o] == n.get()) collected[o] = g;
      if (--custom_outputs_left[custom] > 0) continue;
      bool any = std::any_of(collected.begin(), collected.end(), [](const NodePtr& c) { return c != nullptr; });
      if (any) pass_on(custom->inputs, custom->backward(collected), *n, since);
    } else if (g) {
      pass_on(n->recorded().inputs, vjp(n->recorded(), n, g), *n, since);
    }
  }

  std::vector<NodePtr> result;
  for (const NodePtr& w : wrt) {
    auto it = cotangent.find(w.get());
    result.push_back(it == cotangent.end() ? nullptr : it->second);
  }
  return result;
}

void release(const std::vector<NodePtr>& gradient_graph) {
  for (const NodePtr& n : gradient_graph) {
    if (n->grad != Grad::Derived) continue;
    n->grad_released = true;
    n->recipe.reset();
    n->custom_gradient.reset();
  }
}

}  // namespace kiln::passes
