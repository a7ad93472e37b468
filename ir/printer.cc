#include "ir/printer.h"

#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace kiln::ir {

std::vector<const Node*> topological_order(const std::vector<const Node*>& outputs) {
  std::vector<const Node*> order;
  std::unordered_set<const Node*> done;
  std::vector<std::pair<const Node*, size_t>> stack;  // node, next input to visit
  for (const Node* out : outputs) {
    if (done.count(out)) continue;
    stack.push_back({out, 0});
    while (!stack.empty()) {
      auto& [node, next] = stack.back();
      if (next < node->inputs.size()) {
        const Node* in = node->inputs[next++].get();
        if (!done.count(in)) stack.push_back({in, 0});
        continue;
      }
      if (done.insert(node).second) order.push_back(node);
      stack.pop_back();
    }
  }
  return order;
}

namespace {

std::string ints(const std::vector<int64_t>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + std::to_string(v[i]);
  return s + "]";
}

std::string text(const std::vector<int64_t>& v) { return ints(v); }
std::string text(const Scalar& s) { return s.str(); }
std::string text(Distribution d) { return d == Distribution::Normal ? "normal" : "uniform"; }
std::string text(uint64_t v) { return std::to_string(v); }

std::string attributes(const Node& n) {
  if (n.is_buffer()) {  // a runtime scalar shows its current value (it is not part of the structure)
    if (!n.runtime_scalar || !n.storage) return "";
    return "value=" + dispatch_dtype(n.dtype, [&]<typename T>() { return Scalar(n.data<T>()[0]).str(); });
  }
  std::string s;
  for_each_used_attr(n.op, n.attrs, [&](const char* name, const auto& field) {
    s += (s.empty() ? "" : ", ") + std::string(name) + "=" + text(field);
  });
  return s;
}

}  // namespace

std::string print_graph(const std::vector<const Node*>& outputs, const NodeNote& note) {
  std::unordered_map<const Node*, size_t> id;
  auto name = [&](const Node* n) {
    auto it = id.find(n);
    return it == id.end() ? std::string("?") : "%" + std::to_string(it->second);
  };
  std::string text;
  for (const Node* n : topological_order(outputs)) {
    size_t k = id.size();
    id[n] = k;
    text += "%" + std::to_string(k) + " = " + std::string(op_name(n->op));
    for (size_t i = 0; i < n->inputs.size(); ++i) text += (i ? ", %" : " %") + std::to_string(id.at(n->inputs[i].get()));
    // A node off the CPU names its device (a transfer always does: it is the op's one attribute).
    std::string attrs = attributes(*n);
    if (!n->device.is_cpu() || n->op == Op::Transfer) attrs += (attrs.empty() ? "" : ", ") + ("device=" + n->device.str());
    if (!attrs.empty()) text += " {" + attrs + "}";
    text += " : " + std::string(dtype_short_name(n->dtype)) + shape_str(n->shape) + "  loc(" + n->loc.str() + ")";
    std::string comment = note ? note(*n, name) : "";
    if (n->composite) comment = "in " + std::string(n->composite) + (comment.empty() ? "" : "; " + comment);
    text += (comment.empty() ? "" : "  // " + comment) + "\n";
  }
  text += "return";
  for (size_t i = 0; i < outputs.size(); ++i) text += (i ? ", %" : " %") + std::to_string(id.at(outputs[i]));
  return text + "\n";
}

}  // namespace kiln::ir
