#include "runtime/dump.h"

#include <atomic>
#include <functional>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

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
      o.cuda |= item == "cuda";
      o.ptx |= item == "ptx";
      o.backward |= item == "backward";
      o.every |= item == "every";
      if (item == "all") o.graph = o.fused = o.kernels = o.llvm = o.assembly = o.cuda = o.ptx = o.backward = true;
    }
    if (const char* dir = std::getenv("KILN_DUMP_DIR")) o.dir = dir;
    return o;
  }();
  return options;
}

bool DumpOptions::wants(const std::string& extension) const {
  if (extension == ".ll") return llvm;
  if (extension == ".s") return assembly;
  if (extension == ".cu") return cuda;
  if (extension == ".ptx") return ptx;
  return false;
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

// Appends one entry to the dump directory's manifest.jsonl (evaluations may run on several threads).
void append_to_manifest(const nlohmann::json& entry) {
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::ofstream(dump_options().dir + "/manifest.jsonl", std::ios::app) << entry.dump() << "\n";
}

}  // namespace

bool dumps_evaluation(const std::shared_ptr<const Schedule>& schedule) {
  if (dump_options().every) return true;
  static std::mutex mu;
  static std::map<const Schedule*, std::weak_ptr<const Schedule>> dumped;  // an expired entry: the address reused
  std::lock_guard<std::mutex> lock(mu);
  std::weak_ptr<const Schedule>& seen = dumped[schedule.get()];
  if (!seen.expired()) return false;
  seen = schedule;
  return true;
}

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
  nlohmann::json entry = {{"graph", name}, {"cause", evaluation_cause()}, {"files", nlohmann::json::object()}};
  if (o.graph) {
    entry["files"]["recorded"] = name + ".ir";
    entry["files"]["simplified"] = name + ".after.ir";
    entry["replay"] = "kiln-opt " + name + ".ir --simplify --fuse --emit=kernels";
  }
  if (o.fused) entry["files"]["fused"] = name + ".fused.txt";
  entry["kernels"] = nlohmann::json::array();
  for (const RanKernel& k : kernels) {
    const std::string base = o.dir + "/" + k.kernel->name;
    nlohmann::json files = {{"name", k.kernel->name}};
    if (o.kernels) {
      write(base + ".kernel.txt", codegen::print_kernel(*k.kernel));
      files["kernel_ir"] = k.kernel->name + ".kernel.txt";
    }
    for (const Artifact& a : k.artifacts) {
      if (!o.wants(a.extension)) continue;
      write(base + a.extension, a.text);
      files[a.extension == ".ll" ? "llvm" : a.extension == ".s" ? "asm" : a.extension.substr(1)] = k.kernel->name + a.extension;
    }
    entry["kernels"].push_back(std::move(files));
  }
  append_to_manifest(entry);
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
  std::string text = ir::print_graph(roots, note);
  if (!dump_options().every) {  // a training loop differentiates the same graph each step: once
    static std::mutex mu;
    static std::unordered_set<std::string> seen;
    std::lock_guard<std::mutex> lock(mu);
    if (!seen.insert(text).second) return;
  }
  std::string name = "backward" + std::to_string(counter++);
  write(dump_options().dir + "/" + name + ".ir", text);
  append_to_manifest({{"backward", name},
                      {"files", {{"graph", name + ".ir"}}},
                      {"replay", "kiln-opt " + name + ".ir --simplify --fuse --emit=kernels"}});
}

}  // namespace kiln::runtime
