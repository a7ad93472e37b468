#include "passes/fusion.h"

#include <algorithm>
#include <map>
#include <set>
#include <unordered_set>

namespace kiln::passes {

namespace {

using ir::Node;
using ir::Op;
using ir::OpKind;

bool is_extern(const Node* n) {
  return n->op == Op::MatMul || n->op == Op::Transfer;
}
// The node an extern op reads for input `i`, and whether it reads it transposed (see fusion.h).
std::pair<const Node*, bool> extern_operand(const Node* n, size_t i) {
  const Node* in = n->inputs[i].get();
  if (n->op != Op::MatMul || !is_floating(n->dtype) || in->op != Op::Permute) return {in, false};
  const std::vector<int64_t>& perm = in->attrs.axes;
  size_t r = perm.size();
  for (size_t k = 0; k + 2 < r; ++k)
    if (perm[k] != static_cast<int64_t>(k)) return {in, false};
  if (perm[r - 2] != static_cast<int64_t>(r - 1) || perm[r - 1] != static_cast<int64_t>(r - 2)) return {in, false};
  return {in->inputs[0].get(), true};
}

// Sources every kernel that reads them computes itself: constants, iotas and random streams (a
// pure function of seed, offset and element index, so recomputing gives the same numbers).
bool is_inlined_source(const Node* n) { return n->op == Op::Full || n->op == Op::Iota || n->op == Op::Random; }
// A runtime scalar or a broadcast of one: a kernel reads it once, into a register, so it is
// inlined like a constant and costs nothing as a shared read.
bool is_scalar_input(const Node* n) {
  while (n->op == Op::Reshape || n->op == Op::Expand) n = n->inputs[0].get();
  return n->is_buffer() && n->runtime_scalar;
}
bool is_reduction(const Node* n) { return ir::op_kind(n->op) == OpKind::Reduce; }

// What a kernel's loop variables say about one axis of a node's coordinate: loop variable k,
// always zero, or anything else.
constexpr int64_t kZero = -1;
constexpr int64_t kOther = -2;
using Labels = std::vector<int64_t>;

// Labels of `x`'s input when x's own coordinate has `labels`, or nullopt-like kOther entries.
Labels input_labels(const Node* x, const Labels& labels) {
  const Node* in = x->inputs[0].get();
  switch (x->op) {
    case Op::Expand: {
      Labels out = labels;
      for (size_t k = 0; k < out.size(); ++k)
        if (in->shape[k] == 1 && x->shape[k] != 1) out[k] = kZero;
      return out;
    }
    case Op::Permute: {
      Labels out(labels.size());
      for (size_t i = 0; i < labels.size(); ++i) out[x->attrs.axes[i]] = labels[i];
      return out;
    }
    case Op::Reshape: {
      // Only reshapes that insert or remove size-1 axes keep coordinates apart.
      Labels out;
      size_t j = 0;
      for (int64_t size : in->shape) {
        if (size == 1) {
          out.push_back(kZero);
          continue;
        }
        while (j < x->shape.size() && x->shape[j] == 1) ++j;
        if (j == x->shape.size() || x->shape[j] != size) return Labels(in->shape.size(), kOther);
        out.push_back(labels[j++]);
      }
      return out;
    }
    default:
      if (ir::op_kind(x->op) == OpKind::Movement) return Labels(in->shape.size(), kOther);
      return labels;  // elementwise
  }
}

class Planner {
 public:
  Planner(const std::vector<const Node*>& order, const std::vector<const Node*>& outputs, bool fuse)
      : order_(order), outputs_(outputs), fuse_(fuse) {}

  FusionPlan run() {
    for (const Node* n : order_)
      for (const ir::NodePtr& in : n->inputs) users_[in.get()].push_back(n);
    mark_required();
    if (fuse_) {
      mark_expensive_shared();
      mark_expensive_broadcasts();
      mark_deep();
      mark_reshaped_values();
      for (auto it = order_.rbegin(); it != order_.rend(); ++it)
        if (is_reduction(*it) && !mat_.count(*it)) place_reduction(*it);
    }
    FusionPlan plan = build();
    if (fuse_) merge_extra_outputs(plan);
    return plan;
  }

 private:
  void mark_required() {
    for (const Node* n : order_) {
      if (n->is_buffer()) continue;
      if (!fuse_ && !is_inlined_source(n) && !is_scalar_input(n)) mat_.insert(n);
      if (is_extern(n)) {
        mat_.insert(n);
        for (size_t i = 0; i < n->inputs.size(); ++i) {
          const Node* operand = extern_operand(n, i).first;
          if (!operand->is_buffer()) mat_.insert(operand);
        }
      }
    }
    for (const Node* o : outputs_)
      if (!o->is_buffer()) mat_.insert(o);
  }

  // The ops an inlined copy of `n` recomputes (counting stops past kMaxRecomputeOps) and the
  // buffers, materialized nodes and reductions it reads.
  std::pair<int, std::unordered_set<const Node*>> recompute_cost(const Node* n) {
    std::unordered_set<const Node*> seen, reads;
    int ops = 0;
    std::vector<const Node*> stack = {n};
    while (!stack.empty() && ops <= kMaxRecomputeOps) {
      const Node* x = stack.back();
      stack.pop_back();
      if (!seen.insert(x).second || is_scalar_input(x)) continue;
      if (x->is_buffer() || mat_.count(x) || is_reduction(x)) {
        reads.insert(x);
        continue;
      }
      ++ops;
      for (const ir::NodePtr& in : x->inputs) stack.push_back(in.get());
    }
    return {ops, std::move(reads)};
  }

  // Shared elementwise subexpressions are recomputed unless they are big or read many buffers.
  void mark_expensive_shared() {
    for (const Node* n : order_) {
      if (n->is_buffer() || mat_.count(n) || is_reduction(n) || is_inlined_source(n) || is_scalar_input(n)) continue;
      if (users_[n].size() < 2) continue;
      auto [ops, reads] = recompute_cost(n);
      if (ops > kMaxRecomputeOps || static_cast<int>(reads.size()) > kMaxRecomputeReads) mat_.insert(n);
    }
  }

  // A broadcast recomputes its input once per copy: an input costlier than
  // kMaxBroadcastRecomputeOps is materialized (a pooling gradient spread over its windows).
  void mark_expensive_broadcasts() {
    for (const Node* n : order_) {
      if (n->op != Op::Expand || mat_.count(n)) continue;
      const Node* x = n->inputs[0].get();
      while (x->op == Op::Reshape && !mat_.count(x)) x = x->inputs[0].get();
      if (x->is_buffer() || mat_.count(x) || is_reduction(x) || is_inlined_source(x) || is_scalar_input(x)) continue;
      if (recompute_cost(x).first > kMaxBroadcastRecomputeOps) mat_.insert(x);
    }
  }

  void mark_deep() {
    std::unordered_map<const Node*, int> depth;
    for (const Node* n : order_) {
      int d = 0;
      for (const ir::NodePtr& in : n->inputs)
        if (!in->is_buffer() && !mat_.count(in.get())) d = std::max(d, depth[in.get()]);
      if (d + 1 > kMaxInlineDepth && !is_inlined_source(n) && !is_scalar_input(n)) {
        mat_.insert(n);
        d = -1;
      }
      depth[n] = d + 1;
    }
  }

  // A materialized reshape keeps its input's row-major order, so it can take its input's buffer
  // (the schedule's alias step) if that input is materialized too, at no extra cost.
  void mark_reshaped_values() {
    for (auto it = order_.rbegin(); it != order_.rend(); ++it) {
      const Node* n = *it;
      if (n->op != Op::Reshape || !mat_.count(n)) continue;
      const Node* x = n->inputs[0].get();
      if (!x->is_buffer() && !is_inlined_source(x)) mat_.insert(x);
    }
  }

  // The kernel roots that consume `r`, following inlined nodes and absorbed reductions.
  std::set<const Node*> consumers(const Node* r) {
    std::set<const Node*> roots;
    std::unordered_set<const Node*> seen;
    std::vector<const Node*> stack(users_[r].begin(), users_[r].end());
    while (!stack.empty()) {
      const Node* u = stack.back();
      stack.pop_back();
      if (!seen.insert(u).second) continue;
      if (mat_.count(u)) roots.insert(u);
      else if (absorbed_into_.count(u)) roots.insert(absorbed_into_[u]);
      else stack.insert(stack.end(), users_[u].begin(), users_[u].end());
    }
    return roots;
  }

  // The domain and reduced axes of the kernel rooted at `m`, given what it has absorbed so far.
  // A root at a reduction's result shape computes an epilogue of it (mean's division, say) once
  // per outer point; the domain is then the reduction's input.
  std::pair<Shape, std::vector<int64_t>> domain_of(const Node* m, const Node* candidate) {
    if (is_reduction(m)) return {m->inputs[0]->shape, m->attrs.axes};
    for (const auto& [r, root] : absorbed_into_)
      if (root == m) return {r->inputs[0]->shape, r->attrs.axes};
    if (m->shape == candidate->shape) return {candidate->inputs[0]->shape, candidate->attrs.axes};
    return {m->shape, candidate->attrs.axes};
  }

  // Whether every path from root `m` down to reduction `r` reads r at m's own outer point.
  bool reads_at_outer_point(const Node* m, const Node* r, const std::vector<int64_t>& axes) {
    Labels start(m->is_buffer() ? 0 : (is_reduction(m) ? m->inputs[0]->shape.size() : m->shape.size()));
    for (size_t k = 0; k < start.size(); ++k) start[k] = static_cast<int64_t>(k);
    std::set<std::pair<const Node*, Labels>> seen;
    std::vector<std::pair<const Node*, Labels>> stack;
    if (is_reduction(m)) stack.push_back({m->inputs[0].get(), start});
    else stack.push_back({m, start});
    while (!stack.empty()) {
      auto [x, labels] = stack.back();
      stack.pop_back();
      if (!seen.insert({x, labels}).second) continue;
      if (x == r) {
        for (size_t k = 0; k < labels.size(); ++k) {
          bool reduced = std::find(axes.begin(), axes.end(), static_cast<int64_t>(k)) != axes.end();
          if (!reduced && labels[k] != static_cast<int64_t>(k)) return false;
        }
        continue;
      }
      if (x->is_buffer() || (x != m && mat_.count(x)) || x->inputs.empty()) continue;
      if (is_reduction(x)) {
        if (absorbed_into_.count(x)) stack.push_back({x->inputs[0].get(), start});
        continue;
      }
      if (ir::op_kind(x->op) == OpKind::Movement) {
        for (const ir::NodePtr& in : x->inputs) stack.push_back({in.get(), input_labels(x, labels)});
      } else {
        for (const ir::NodePtr& in : x->inputs) stack.push_back({in.get(), labels});
      }
    }
    return true;
  }

  void place_reduction(const Node* r) {
    std::set<const Node*> roots = consumers(r);
    if (roots.size() == 1) {
      const Node* m = *roots.begin();
      auto [domain, axes] = domain_of(m, r);
      if (!is_extern(m) && r->inputs[0]->shape == domain && r->attrs.axes == axes &&
          reads_at_outer_point(m, r, axes)) {
        absorbed_into_[r] = m;
        return;
      }
    }
    mat_.insert(r);
  }

  // A reshape of a value some group computes (see mark_reshaped_values).
  bool is_alias(const Node* n) const {
    return n->op == Op::Reshape && !n->inputs[0]->is_buffer() && mat_.count(n->inputs[0].get());
  }

  FusionPlan build() {
    FusionPlan plan;
    for (const Node* n : order_) {
      if (!mat_.count(n)) continue;
      FusedGroup g{is_extern(n) ? FusedGroup::Extern : is_alias(n) ? FusedGroup::Alias : FusedGroup::Kernel, n, {}, {},
                   {}, {}};
      if (g.kind == FusedGroup::Extern) {
        for (size_t i = 0; i < n->inputs.size(); ++i) {
          auto [operand, transposed] = extern_operand(n, i);
          g.operands.push_back(operand);
          g.transposed.push_back(transposed);
        }
      } else {
        for (const Node* x : order_)
          if (absorbed_into_.count(x) && absorbed_into_[x] == n) g.reductions.push_back(x);
        if (is_reduction(n)) {
          g.domain = n->inputs[0]->shape;
          g.reduce_axes = n->attrs.axes;
        } else if (g.reductions.empty()) {
          g.domain = n->shape;
        } else {
          g.domain = g.reductions[0]->inputs[0]->shape;
          g.reduce_axes = g.reductions[0]->attrs.axes;
        }
      }
      plan.roots[n] = plan.groups.size();
      plan.groups.push_back(std::move(g));
    }
    return plan;
  }

  // The nodes a kernel writes: its extra outputs and its root.
  static std::vector<const Node*> written_by(const FusedGroup& g) {
    std::vector<const Node*> out = g.extra_outputs;
    out.push_back(g.root);
    return out;
  }

  // The materialized nodes (not buffers) that group g reads, other than those it writes.
  std::vector<const Node*> reads_of(const FusedGroup& g) {
    std::vector<const Node*> reads;
    if (g.kind == FusedGroup::Extern) {
      for (const Node* o : g.operands)
        if (!o->is_buffer()) reads.push_back(o);
      return reads;
    }
    std::vector<const Node*> written = written_by(g);
    std::unordered_set<const Node*> seen(written.begin(), written.end());
    std::vector<const Node*> stack;
    for (const Node* w : written)
      for (const ir::NodePtr& in : w->inputs) stack.push_back(in.get());
    while (!stack.empty()) {
      const Node* x = stack.back();
      stack.pop_back();
      if (x->is_buffer() || !seen.insert(x).second) continue;
      if (mat_.count(x)) {
        reads.push_back(x);
        continue;
      }
      for (const ir::NodePtr& in : x->inputs) stack.push_back(in.get());
    }
    return reads;
  }

  // Whether every node group g writes reads `e` (if at all) at g's own point.
  bool reads_at_own_point(const FusedGroup& g, const Node* e) {
    std::vector<const Node*> written = written_by(g);
    return std::all_of(written.begin(), written.end(), [&](const Node* w) { return reads_at_outer_point(w, e, {}); });
  }

  // The depth of n's inlined expression, down to buffers and materialized nodes (mark_deep
  // keeps it at most kMaxInlineDepth for every root).
  int inline_depth(const Node* n) {
    if (auto it = depth_.find(n); it != depth_.end()) return it->second;
    int d = 0;
    for (const ir::NodePtr& in : n->inputs)
      if (!in->is_buffer() && !mat_.count(in.get())) d = std::max(d, inline_depth(in.get()));
    return depth_[n] = d + 1;
  }
  // The depth of a kernel's expression, each node it writes computed inline.
  int kernel_depth(const FusedGroup& g) {
    int d = 0;
    for (const Node* w : written_by(g)) d = std::max(d, inline_depth(w));
    return d;
  }

  // A kernel that may write other nodes besides its root: an elementwise root over its domain, or
  // one reduction (see fusion.h).
  static bool takes_extra_outputs(const FusedGroup& g) {
    return g.kind == FusedGroup::Kernel && g.reductions.empty() && g.root->op != Op::Reshape &&
           (is_reduction(g.root) || (g.reduce_axes.empty() && g.domain == g.root->shape));
  }
  // A kernel whose outputs another kernel may compute and write instead: elementwise ones.
  static bool writable_elsewhere(const FusedGroup& g) {
    return g.kind == FusedGroup::Kernel && g.reductions.empty() && !is_reduction(g.root) &&
           g.root->op != Op::Reshape && g.domain == g.root->shape;
  }

  // Moves the outputs of elementwise kernels into a later kernel that reads them at its own
  // point, as its extra outputs (fusion.h's last rule).
  void merge_extra_outputs(FusionPlan& plan) {
    std::vector<FusedGroup>& groups = plan.groups;
    std::vector<std::vector<const Node*>> reads;
    for (const FusedGroup& g : groups) reads.push_back(reads_of(g));
    std::unordered_map<const Node*, size_t> place = plan.roots;  // where each value is computed
    std::vector<bool> gone(groups.size());
    for (size_t gi = 0; gi < groups.size(); ++gi) {
      if (!takes_extra_outputs(groups[gi])) continue;
      // Kernels whose outputs are read at this kernel's point, directly or through outputs merged
      // before (RMSprop's averages, read by its momentum, which the parameter's update reads).
      // Each merged kernel's expression is inlined below the reader's: their depths add up, and
      // the sum stays within kMaxInlineDepth, like any kernel's (a deep chain is not merged back).
      std::vector<size_t> merged;
      int depth = kernel_depth(groups[gi]);
      std::vector<std::pair<size_t, const Node*>> frontier;  // (reading group, value read)
      for (const Node* e : reads[gi]) frontier.push_back({gi, e});
      while (!frontier.empty()) {
        auto [reader, e] = frontier.back();
        frontier.pop_back();
        size_t ei = place.at(e);
        if (gone[ei] || ei == gi || std::find(merged.begin(), merged.end(), ei) != merged.end() ||
            !writable_elsewhere(groups[ei]) || groups[ei].domain != groups[gi].domain ||
            depth + kernel_depth(groups[ei]) > kMaxInlineDepth || !reads_at_own_point(groups[reader], e))
          continue;
        merged.push_back(ei);
        depth += kernel_depth(groups[ei]);
        for (const Node* next : reads[ei]) frontier.push_back({ei, next});
      }
      if (merged.empty()) continue;
      size_t first = *std::min_element(merged.begin(), merged.end());
      auto ready = [&](const Node* x) {
        size_t at = place.at(x);
        return at < first || std::find(merged.begin(), merged.end(), at) != merged.end();
      };
      bool all_ready = std::all_of(reads[gi].begin(), reads[gi].end(), ready);
      for (size_t ei : merged) all_ready = all_ready && std::all_of(reads[ei].begin(), reads[ei].end(), ready);
      if (!all_ready) continue;
      std::sort(merged.begin(), merged.end());
      FusedGroup g = std::move(groups[gi]);
      for (size_t ei : merged) {
        for (const Node* w : written_by(groups[ei])) {
          g.extra_outputs.push_back(w);
          place[w] = first;
        }
        gone[ei] = ei != first;
      }
      place[g.root] = first;
      gone[gi] = true;
      groups[first] = std::move(g);
      reads[first] = reads_of(groups[first]);
    }
    std::vector<FusedGroup> kept;
    plan.roots.clear();
    for (size_t i = 0; i < groups.size(); ++i) {
      if (gone[i]) continue;
      for (const Node* w : written_by(groups[i])) plan.roots[w] = kept.size();
      kept.push_back(std::move(groups[i]));
    }
    groups = std::move(kept);
  }

  const std::vector<const Node*>& order_;
  const std::vector<const Node*>& outputs_;
  bool fuse_;
  std::unordered_map<const Node*, std::vector<const Node*>> users_;
  std::unordered_set<const Node*> mat_;
  std::map<const Node*, const Node*> absorbed_into_;
  std::unordered_map<const Node*, int> depth_;  // inline_depth, once mat_ is final
};

}  // namespace

FusionPlan plan_fusion(const std::vector<const Node*>& order, const std::vector<const Node*>& outputs, bool fuse) {
  return Planner(order, outputs, fuse).run();
}

}  // namespace kiln::passes
