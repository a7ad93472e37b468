// graph_dot (emit.h): the graph drawn with its fusion plan.
#include <map>
#include <set>
#include <sstream>
#include <unordered_map>

#include "ir/printer.h"
#include "tools/kiln_opt/emit.h"

namespace kiln::tools {

namespace {

// Fill colours for kernels, in turn (Graphviz's pastel19 scheme).
constexpr const char* kColours[] = {"#fbb4ae", "#b3cde3", "#ccebc5", "#decbe4", "#fed9a6",
                                    "#ffffcc", "#e5d8bd", "#fddaec", "#f2f2f2"};

std::string type_of(const ir::Node& n) { return std::string(dtype_short_name(n.dtype)) + shape_str(n.shape); }

std::string escape(const std::string& s) {
  std::string out;
  for (char c : s) out += (c == '"' || c == '\\') ? std::string("\\") + c : std::string(1, c);
  return out;
}

}  // namespace

std::string graph_dot(const Module& m, const Module::Plan& plan) {
  std::vector<const ir::Node*> roots;
  for (const ir::NodePtr& o : m.outputs) roots.push_back(o.get());
  std::vector<const ir::Node*> order = ir::topological_order(roots);
  std::unordered_map<const ir::Node*, size_t> id;
  for (const ir::Node* n : order) id.emplace(n, id.size());
  // Each node goes to the first step that computes it: its root, or an inlined part of it.
  std::unordered_map<const ir::Node*, size_t> step_of;
  for (size_t s = 0; s < plan.fusion.groups.size(); ++s) {
    const passes::FusedGroup& g = plan.fusion.groups[s];
    std::vector<const ir::Node*> stack = g.extra_outputs;
    stack.push_back(g.root);
    while (!stack.empty()) {
      const ir::Node* n = stack.back();
      stack.pop_back();
      if (!step_of.emplace(n, s).second || g.kind != passes::FusedGroup::Kernel) continue;
      for (const ir::NodePtr& in : n->inputs)
        if (!in->is_buffer() && !plan.fusion.materialized(in.get())) stack.push_back(in.get());
    }
  }
  std::ostringstream out;
  out << "digraph kiln {\n  rankdir=TB;\n  node [shape=box, style=\"rounded,filled\", fillcolor=white, "
         "fontname=\"monospace\", fontsize=10];\n  edge [fontname=\"monospace\", fontsize=8];\n";
  auto node_line = [&](const ir::Node* n, const std::string& indent) {
    std::string label = "%" + std::to_string(id.at(n)) + " " + std::string(ir::op_name(n->op)) + "\\n" + type_of(*n) +
                        "\\n" + escape(n->loc.str());
    if (n->composite) label += "\\n(" + std::string(n->composite) + ")";
    bool materialized = n->is_buffer() || plan.fusion.materialized(n);
    out << indent << "n" << id.at(n) << " [label=\"" << label << "\"" << (materialized ? ", penwidth=2" : "");
    if (auto it = step_of.find(n); it != step_of.end())
      out << ", fillcolor=\"" << kColours[it->second % std::size(kColours)] << "\"";
    out << "];\n";
  };
  std::map<size_t, std::vector<const ir::Node*>> by_step;
  for (const ir::Node* n : order) {
    if (auto it = step_of.find(n); it != step_of.end()) by_step[it->second].push_back(n);
    else node_line(n, "  ");  // buffers and constants outside any kernel
  }
  for (const auto& [s, nodes] : by_step) {
    const passes::FusedGroup& g = plan.fusion.groups[s];
    std::string title = plan.kernels[s] ? "kernel " + plan.kernels[s]->kernel.name
                        : (g.kind == passes::FusedGroup::Alias ? "alias " : "extern ") + std::string(ir::op_name(g.root->op));
    out << "  subgraph cluster_" << s << " {\n    label=\"" << title << "\";\n    style=\"rounded\";\n";
    for (const ir::Node* n : nodes) node_line(n, "    ");
    out << "  }\n";
  }
  for (const ir::Node* n : order)
    for (const ir::NodePtr& in : n->inputs)
      out << "  n" << id.at(in.get()) << " -> n" << id.at(n) << " [label=\"" << type_of(*in) << "\"];\n";
  for (size_t i = 0; i < m.outputs.size(); ++i)
    out << "  out" << i << " [shape=plaintext, label=\"output " << i << "\"];\n  n" << id.at(m.outputs[i].get())
        << " -> out" << i << ";\n";
  out << "}\n";
  return out.str();
}

}  // namespace kiln::tools
