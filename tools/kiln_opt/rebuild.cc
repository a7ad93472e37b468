#include <unordered_map>

#include "ir/printer.h"
#include "tools/kiln_opt/module.h"

namespace kiln::tools {

std::vector<ir::NodePtr> rebuild(const std::vector<ir::NodePtr>& outputs,
                                 const std::unordered_map<const ir::Node*, ir::NodePtr>& replace, bool all) {
  std::vector<const ir::Node*> roots;
  for (const ir::NodePtr& o : outputs) roots.push_back(o.get());
  std::unordered_map<const ir::Node*, ir::NodePtr> copy;
  auto find = [&](const ir::NodePtr& n) {
    auto it = copy.find(n.get());
    return it == copy.end() ? n : it->second;
  };
  for (const ir::Node* n : ir::topological_order(roots)) {
    if (auto r = replace.find(n); r != replace.end()) {
      copy[n] = r->second;
      continue;
    }
    if (n->inputs.empty()) continue;  // sources are kept
    bool changed = false;
    std::vector<ir::NodePtr> inputs;
    for (const ir::NodePtr& in : n->inputs) {
      inputs.push_back(find(in));
      changed |= inputs.back() != in;
    }
    if (!changed && !all) continue;
    copy[n] = n->rebuilt(std::move(inputs));
  }
  std::vector<ir::NodePtr> result;
  for (const ir::NodePtr& o : outputs) result.push_back(find(o));
  return result;
}

}  // namespace kiln::tools
