#include "runtime/dump.h"

#include <atomic>
#include <functional>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "ir/printer.h"

namespace kiln::runtime {

const DumpOptions& dump_options() {
  static const DumpOptions options = [] {
    DumpOptions o;
    const char* log = std::getenv("KILN_LOG");
    o.log_compiles = log && std::strstr(log, "compile") != nullptr;
    const char* what = std::getenv("KILN_DUMP");
    if (!what) return o;
    std::stringstream list(what);
    for (std::string item; std::getline(list, item, ',');) {
      o.graph |= item == "graph";
      o.fused |= item == "fused";
      o.kernels |= item == "kernels";
      o.llvm |= item == "llvm";
      o.assembly |= item == "asm";
      o.backward |= item == "backward";
    }
    if (const char* dir = std::getenv("KILN_DUMP_DIR")) o.dir = dir;
    return o;
  }();
  return options;
}

namespace {
thread_local std::string t_cause;
}  // namespace

EvaluationCause::EvaluationCause(std::string what) : set_(t_cause.empty()) {
  if (set_) t_cause = std::move(what);
}
EvaluationCause::~EvaluationCause() {
  if (set_) t_cause.clear();
}
const std::string& evaluation_cause() { return t_cause; }

std::string describe_fusion(const std::vector<const ir::Node*>& graph, const std::vector<PlannedStep>& steps) {
  std::unordered_map<const ir::Node*, size_t> ids;
  for (const ir::Node* n : ir::topological_order(graph)) ids.emplace(n, ids.size());
  std::unordered_set<const ir::Node*> materialized;
  for (const PlannedStep& s : steps) {
    materialized.insert(s.root);
    materialized.insert(s.extra_outputs.begin(), s.extra_outputs.end());
  }
  auto line = [&](const ir::Node* n) {
    return "  %" + std::to_string(ids.at(n)) + " " + std::string(ir::op_name(n->op)) + "  loc(" + n->loc.str() + ")\n";
  };
  std::string text;
  for (const PlannedStep& s : steps) {
    ScheduleStep::Kind kind = s.step->kind;
    std::string what = kind == ScheduleStep::Kernel   ? "kernel " + s.step->kernel.name
                       : kind == ScheduleStep::Extern ? "extern " + std::string(ir::op_name(s.root->op))
                                                      : std::string("alias");
    text += what + " -> %" + std::to_string(ids.at(s.root));
    for (const ir::Node* e : s.extra_outputs) text += ", %" + std::to_string(ids.at(e));
    text += "\n";
    for (size_t a = 0; a < s.args.size(); ++a) {
      const ir::Node* arg = s.args[a];
      bool random = a < s.step->random_params.size() && s.step->random_params[a];
      text += "  a" + std::to_string(a) + (s.step->kernel.args[a].output ? " (out)" : "") + " = " +
              (random ? "seed and offset of " : "") + "%" + std::to_string(ids.at(arg)) + " " +
              std::string(ir::op_name(arg->op)) + "  loc(" + arg->loc.str() + ")\n";
    }
    // The nodes a kernel computes: its root and what it inlines, up to materialized values.
    std::unordered_set<const ir::Node*> seen;
    std::vector<const ir::Node*> stack = s.extra_outputs;
    stack.push_back(s.root);
    while (!stack.empty()) {
      const ir::Node* n = stack.back();
      stack.pop_back();
      if (!seen.insert(n).second) continue;
      text += line(n);
      if (kind != ScheduleStep::Kernel) continue;
      for (const ir::NodePtr& in : n->inputs)
        if (!in->is_buffer() && !materialized.count(in.get())) stack.push_back(in.get());
    }
  }
  return text;
}

namespace {
void write(const std::string& path, const std::string& text) { std::ofstream(path) << text; }
}  // namespace

void dump_evaluation(const std::vector<const ir::Node*>& recorded, const std::string& simplified_ir,
                     const std::string& fusion, const std::vector<RanKernel>& kernels) {
  static std::atomic<int> counter{0};
  const DumpOptions& o = dump_options();
  std::string name = "graph" + std::to_string(counter++);
  std::string prefix = o.dir + "/" + name;
  std::string why = "// " + name + ": evaluated for " + (evaluation_cause().empty() ? "an evaluation" : evaluation_cause());
  if (o.graph) {
    write(prefix + ".ir", why + " (as recorded)\n" + ir::print_graph(recorded));
    write(prefix + ".after.ir", why + " (after simplification)\n" + simplified_ir);
  }
  if (o.fused) write(prefix + ".fused.txt", why + "; %N are the nodes of " + name + ".after.ir\n" + fusion);
  for (const RanKernel& k : kernels) {
    const std::string base = o.dir + "/" + k.kernel->name;
    if (o.kernels) write(base + ".kernel.txt", codegen::print_kernel(*k.kernel));
    for (const Artifact& a : k.artifacts) {
      bool wanted = a.extension == ".ll" ? o.llvm : a.extension == ".s" ? o.assembly : o.wants_code();
      if (wanted) write(base + a.extension, a.text);
    }
  }
}

}  // namespace kiln::runtime

namespace kiln::runtime {

void dump_backward(const std::vector<ir::NodePtr>& outputs, const std::vector<ir::NodePtr>& grads,
                   const std::unordered_map<const ir::Node*, const ir::Node*>& origins) {
  static std::atomic<int> counter{0};
  std::vector<const ir::Node*> roots;
  for (const ir::NodePtr& n : outputs) roots.push_back(n.get());
  for (const ir::NodePtr& n : grads)
    if (n) roots.push_back(n.get());
  auto note = [&](const ir::Node& n, const std::function<std::string(const ir::Node*)>& name) {
    auto it = origins.find(&n);
    if (it == origins.end()) return std::string();
    return "grad of " + name(it->second) + " " + std::string(ir::op_name(it->second->recorded().op)) + " at " +
           it->second->loc.str();
  };
  write(dump_options().dir + "/backward" + std::to_string(counter++) + ".ir", ir::print_graph(roots, note));
}

}  // namespace kiln::runtime
