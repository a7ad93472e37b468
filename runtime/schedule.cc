#include "runtime/schedule.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <list>
#include <stdexcept>
#include <map>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <unordered_set>

#include "codegen/lower.h"
#include "runtime/dump.h"
#include "ir/printer.h"
#include "passes/fusion.h"
#include "passes/simplify.h"
#include "runtime/kernel_cache.h"
#include "runtime/stats.h"

namespace kiln::runtime {

namespace {

using ir::Node;

// The graph's structure as numbers: per node its op, dtype, shape, attributes and inputs'
// positions. Buffers contribute dtype, shape and whether they are runtime scalars, never values;
// random nodes not their seed and offset (extern steps read those from the
// node at run time), only which of them share both.
std::vector<uint64_t> signature(const std::vector<const Node*>& order, const std::vector<ir::NodePtr>& roots,
                                ScheduleOptions options, std::unordered_map<const Node*, int>& position) {
  std::vector<uint64_t> sig = {options.fuse, options.runtime_extents, roots.size()};
  auto scalar = [&](const Scalar& s) {
    double d = s.to_double();
    uint64_t bits;
    std::memcpy(&bits, &d, sizeof bits);
    sig.insert(sig.end(), {uint64_t(s.type()), uint64_t(s.to_long()), bits});
  };
  std::map<std::pair<uint64_t, uint64_t>, uint64_t> random_ids;
  auto ints = [&](const std::vector<int64_t>& v) {
    sig.push_back(v.size());
    sig.insert(sig.end(), v.begin(), v.end());
  };
  for (const Node* n : order) {
    position.emplace(n, static_cast<int>(position.size()));
    sig.push_back(uint64_t(n->is_buffer() ? ir::Op::Buffer : n->op) << 8 | uint64_t(n->dtype));
    sig.push_back(uint64_t(n->device.type()) << 32 | uint32_t(std::max(n->device.index(), 0)));
    ints(n->shape);
    if (n->is_buffer()) {
      sig.push_back(n->runtime_scalar);
      continue;
    }
    sig.push_back(n->inputs.size());
    for (const ir::NodePtr& in : n->inputs) sig.push_back(position.at(in.get()));
    const ir::Attrs& a = n->attrs;
    auto field = ir::overloaded{
        [&](const char*, const std::vector<int64_t>& v) { ints(v); },
        [&](const char*, const Scalar& s) { scalar(s); },
        [&](const char*, ir::Distribution d) { sig.push_back(uint64_t(d)); },
        [&](const char*, uint64_t) {},  // seed and offset: launch-time values, below
    };
    ir::for_each_attr(a, field);
    if (n->op == ir::Op::Random) {
      // Not the seed and offset themselves, but which random nodes share them (CSE merges those).
      auto [it, fresh] = random_ids.emplace(std::make_pair(a.seed, a.offset), random_ids.size());
      sig.push_back(it->second);
    }
  }
  for (const ir::NodePtr& r : roots) sig.push_back(position.at(r.get()));
  return sig;
}

uint64_t hash(const std::vector<uint64_t>& sig) {
  uint64_t h = 1469598103934665603ULL;
  for (uint64_t v : sig) h = (h ^ v) * 1099511628211ULL, h ^= h >> 29;
  return h;
}

// The shared pointer to `target`, found from `roots` through the inputs.
// "log_softmax at model.cc:12": what a kernel computes, for KILN_LOG=compile.
std::string describe_root(const Node* root) {
  return std::string(root->composite ? root->composite : ir::op_name(root->op)) + " at " + root->loc.str();
}

ir::NodePtr owning_pointer(const std::vector<ir::NodePtr>& roots, const Node* target) {
  std::vector<ir::NodePtr> stack(roots.begin(), roots.end());
  std::unordered_set<const Node*> seen;
  while (!stack.empty()) {
    ir::NodePtr n = std::move(stack.back());
    stack.pop_back();
    if (n.get() == target) return n;
    if (seen.insert(n.get()).second) stack.insert(stack.end(), n->inputs.begin(), n->inputs.end());
  }
  return nullptr;
}

Schedule build(const std::vector<const Node*>& order, const std::vector<ir::NodePtr>& roots,
               ScheduleOptions options, const std::unordered_map<const Node*, int>& position) {
  Schedule s;
  std::vector<ir::NodePtr> simplified = passes::simplify(roots);
  std::vector<const Node*> new_roots;
  for (const ir::NodePtr& r : simplified)
    if (!r->is_buffer()) new_roots.push_back(r.get());
  std::vector<const Node*> new_order = ir::topological_order(new_roots);

  // Recorded nodes keep their positions as slots; nodes the passes made get slots past them.
  std::unordered_map<const Node*, int> slot = position;
  s.num_slots = static_cast<int>(order.size());
  for (const ir::NodePtr& r : simplified)
    if (!slot.count(r.get())) slot[r.get()] = s.num_slots++;
  for (const Node* n : new_order)
    if (!slot.count(n)) slot[n] = s.num_slots++;

  if (dump_options().log_compiles)
    std::fprintf(stderr, "kiln: scheduling a graph evaluated for %s:\n%s",
                 evaluation_cause().empty() ? "an evaluation" : evaluation_cause().c_str(),
                 ir::print_graph(new_roots).c_str());
  passes::FusionPlan plan = passes::plan_fusion(new_order, new_roots, options.fuse);
  std::vector<std::vector<const Node*>> arg_nodes;  // per kernel step, for the fused dump
  for (const passes::FusedGroup& g : plan.groups) {
    ScheduleStep step;
    step.root = slot.at(g.root);
    step.kind = g.kind == passes::FusedGroup::Kernel ? ScheduleStep::Kernel
                : g.kind == passes::FusedGroup::Extern ? ScheduleStep::Extern
                                                       : ScheduleStep::Alias;
    // A transfer runs on its device end (the CPU cannot read a GPU's memory; the GPU's driver
    // copies both ways).
    bool to_host = g.root->op == ir::Op::Transfer && g.root->device.is_cpu();
    step.device = to_host ? g.root->inputs[0]->device : g.root->device;
    if (step.kind == ScheduleStep::Alias) {
      step.inputs.push_back(slot.at(g.root->inputs[0].get()));
    } else if (step.kind == ScheduleStep::Kernel) {
      codegen::LoweredKernel lowered =
          codegen::lower({g.root, g.extra_outputs, g.domain, g.reduce_axes, g.reductions,
                          [&plan](const Node* n) { return plan.materialized(n); }, options.runtime_extents});
      size_t num_inputs = lowered.args.size() - 1 - g.extra_outputs.size();
      for (const Node* e : g.extra_outputs) step.extra_outputs.push_back(slot.at(e));
      for (size_t i = 0; i < num_inputs; ++i) {
        // A random node's parameters come from the recorded node in its slot at run time.
        if (lowered.random_params[i] && !position.count(lowered.args[i]))
          throw std::logic_error("schedule: a random node the passes made has no recorded seed and offset");
        step.inputs.push_back(slot.at(lowered.args[i]));
      }
      step.random_params.assign(lowered.random_params.begin(), lowered.random_params.begin() + num_inputs);
      if (dump_options().fused) arg_nodes.push_back(lowered.args);
      step.program = compile(backend_for(g.root->device), lowered.kernel, dump_options().wants_code(),
                             dump_options().log_compiles ? describe_root(g.root) : std::string());
      step.extent = lowered.extent;
      step.kernel = std::move(lowered.kernel);
    } else {
      for (const Node* operand : g.operands) step.inputs.push_back(slot.at(operand));
      step.transposed = g.transposed;
      // A node the passes made is kept (its inputs are read from slots, not through it).
      if (step.root >= static_cast<int>(order.size())) step.extern_node = owning_pointer(simplified, g.root);
    }
    s.steps.push_back(std::move(step));
  }
  for (const ir::NodePtr& r : simplified) s.outputs.push_back(slot.at(r.get()));
  if (dump_options().fused) {
    std::vector<PlannedStep> planned;
    for (size_t i = 0, k = 0; i < plan.groups.size(); ++i) {
      bool kernel = s.steps[i].kind == ScheduleStep::Kernel;
      planned.push_back({plan.groups[i].root, plan.groups[i].extra_outputs, &s.steps[i],
                         kernel ? arg_nodes[k++] : std::vector<const Node*>{}});
    }
    s.fusion = describe_fusion(new_roots, planned);
  }

  // Free each intermediate after its last reader; recorded buffers and outputs are never freed.
  std::unordered_map<int, size_t> last;
  for (size_t i = 0; i < s.steps.size(); ++i)
    for (int p : s.steps[i].inputs) last[p] = i;
  s.last_use.resize(s.steps.size());
  for (const auto& [p, i] : last) {
    bool recorded_buffer = p < static_cast<int>(order.size()) && order[p]->is_buffer();
    if (!recorded_buffer && std::find(s.outputs.begin(), s.outputs.end(), p) == s.outputs.end())
      s.last_use[i].push_back(p);
  }
  return s;
}

// The schedules of the most recently used graphs, at most KILN_SCHEDULE_CACHE of them (read once,
// default 512): a program whose graphs never repeat must not grow memory without bound. Building a
// schedule (simplify, plan, lower, compile) happens outside the lock, so two threads evaluating
// different graphs do not wait for each other; two that build the same one keep the first.
class ScheduleCache {
 public:
  using Signature = std::vector<uint64_t>;

  std::shared_ptr<const Schedule> find(const Signature& sig) {
    std::lock_guard<std::mutex> lock(mu_);
    return find_locked(sig);
  }

  // Inserts `schedule` unless another thread inserted one for `sig` first; returns the cached one.
  std::shared_ptr<const Schedule> insert(Signature sig, std::shared_ptr<const Schedule> schedule) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto known = find_locked(sig)) return known;
    uint64_t h = hash(sig);
    lru_.emplace_back(std::move(sig), schedule);
    index_[h].push_back(std::prev(lru_.end()));
    while (lru_.size() > capacity_) {
      List::iterator oldest = lru_.begin();
      auto bucket = index_.find(hash(oldest->first));
      bucket->second.erase(std::find(bucket->second.begin(), bucket->second.end(), oldest));
      if (bucket->second.empty()) index_.erase(bucket);
      lru_.erase(oldest);
      ++stats().schedules_evicted;
    }
    stats().schedules_cached = static_cast<int64_t>(lru_.size());
    return schedule;
  }

 private:
  using List = std::list<std::pair<Signature, std::shared_ptr<const Schedule>>>;

  std::shared_ptr<const Schedule> find_locked(const Signature& sig) {
    auto it = index_.find(hash(sig));
    if (it == index_.end()) return nullptr;
    for (List::iterator e : it->second)
      if (e->first == sig) {
        lru_.splice(lru_.end(), lru_, e);
        ++stats().schedule_cache_hits;
        return e->second;
      }
    return nullptr;
  }

  static size_t capacity_from_env() {
    const char* v = std::getenv("KILN_SCHEDULE_CACHE");
    long n = v ? std::strtol(v, nullptr, 10) : 0;
    return n > 0 ? static_cast<size_t>(n) : 512;
  }

  std::mutex mu_;
  size_t capacity_ = capacity_from_env();
  List lru_;  // least recently used first
  std::unordered_map<uint64_t, std::vector<List::iterator>> index_;
};

}  // namespace

std::shared_ptr<const Schedule> schedule_for(const std::vector<const Node*>& order,
                                             const std::vector<ir::NodePtr>& roots, ScheduleOptions options) {
  static ScheduleCache* cache = new ScheduleCache();  // never destroyed: evaluation may run at exit
  std::unordered_map<const Node*, int> position;
  std::vector<uint64_t> sig = signature(order, roots, options, position);
  if (auto known = cache->find(sig)) return known;
  auto schedule = std::make_shared<const Schedule>(build(order, roots, options, position));
  ++stats().schedules_built;
  return cache->insert(std::move(sig), std::move(schedule));
}

}  // namespace kiln::runtime
