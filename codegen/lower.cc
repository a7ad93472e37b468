#include "codegen/lower.h"

#include <algorithm>
#include <cstdio>
#include <map>

#include "codegen/index_range.h"
#include "codegen/runtime_extent.h"

namespace kiln::codegen {

namespace {

using ir::Node;
using ir::Op;
using Coords = std::vector<int>;  // index ids, one per axis of a node

ValueNode make_value(ValueNode::Kind kind, ScalarType dtype) {
  ValueNode v{};
  v.kind = kind;
  v.dtype = dtype;
  return v;
}

class Lowerer {
 public:
  explicit Lowerer(const KernelSpec& spec) : spec_(spec) {}

  LoweredKernel run() {
    const Shape& d = spec_.domain;
    auto reduced = [&](size_t k) {
      return std::find(spec_.reduce_axes.begin(), spec_.reduce_axes.end(), int64_t(k)) != spec_.reduce_axes.end();
    };
    Coords vars(d.size());
    for (size_t k = 0, outer = 0; k < d.size(); ++k)
      if (!reduced(k)) k_.outer.push_back(d[k]), vars[k] = static_cast<int>(outer++);
    for (size_t k = 0, inner = k_.outer.size(); k < d.size(); ++k)
      if (reduced(k)) k_.inner.push_back(d[k]), vars[k] = static_cast<int>(inner++);
    int leading_var = d.empty() ? -1 : vars[0];
    var_ranges_ = loop_ranges(k_, /*max_runtime=*/0);  // the domain's extents (none is runtime yet)
    for (int& v : vars) v = index({IndexNode::Var, v});
    domain_vars_ = vars;
    if (spec_.runtime_extent && leading_var >= 0) runtime_index_ = vars[0];

    for (const Node* r : spec_.reductions) add_reduction(r);
    const Node* root = spec_.root;
    for (const Node* e : spec_.extra_outputs) arg_of(e, /*output=*/true);
    int out = arg_of(root, /*output=*/true);
    if (is_reduction(root)) {
      add_reduction(root);
      Coords at(root->shape.size());
      for (size_t k = 0; k < at.size(); ++k) at[k] = reduced(k) ? zero() : vars[k];
      k_.outer_stores.push_back({out, flatten(at, root->shape), accumulators_.at(root)});
    } else if (root->shape != d) {
      // An epilogue: the root has the reduced shape (size 1 on reduced axes), stored once per
      // outer point after the reductions.
      Coords at(d.size());
      for (size_t k = 0; k < at.size(); ++k) at[k] = reduced(k) ? zero() : vars[k];
      k_.outer_stores.push_back({out, flatten(at, root->shape), emit(root, at)});
    } else {
      Store s{out, flatten(vars, root->shape), emit(root, vars)};
      (k_.inner.empty() && spec_.reduce_axes.empty() ? k_.outer_stores : k_.inner_stores).push_back(s);
    }
    for (const Node* e : spec_.extra_outputs) store_extra_output(e);
    stash_costly_reduction_value();
    outputs_last(out);
    remove_unused(k_);
    int64_t extent = d.empty() ? 0 : d[0];
    if (!(runtime_index_ >= 0 && make_extent_runtime(k_, leading_var))) extent = 0;
    char name[32];
    std::snprintf(name, sizeof name, "kiln_%016llx", static_cast<unsigned long long>(structural_hash(k_)));
    k_.name = name;
    return {std::move(k_), std::move(args_), std::move(random_params_), extent};
  }

 private:
  static bool is_reduction(const Node* n) { return ir::op_kind(n->op) == ir::OpKind::Reduce; }

  bool is_extra_output(const Node* n) const {
    return std::find(spec_.extra_outputs.begin(), spec_.extra_outputs.end(), n) != spec_.extra_outputs.end();
  }

  // Extra output `e`, computed at the domain's point: stored at each inner point of the first
  // reduction's loop when the domain has reduced axes, else once per outer point.
  void store_extra_output(const Node* e) {
    Store s{arg_of(e, /*output=*/true), flatten(domain_vars_, e->shape), emit(e, domain_vars_)};
    if (k_.inner.empty()) k_.outer_stores.push_back(s);
    else k_.reductions.front().stores.push_back(s);
  }

  // Reorders the arguments so the outputs come last (the extra outputs in the spec's order, then
  // the root's argument `root`), renumbering loads and stores.
  void outputs_last(int root) {
    std::vector<int> order;  // old argument numbers in their new order
    for (size_t a = 0; a < args_.size(); ++a)
      if (!k_.args[a].output) order.push_back(static_cast<int>(a));
    for (const Node* e : spec_.extra_outputs) order.push_back(arg_of(e, /*output=*/true));
    order.push_back(root);
    std::vector<int> renumbered(order.size());
    for (size_t i = 0; i < order.size(); ++i) renumbered[order[i]] = static_cast<int>(i);
    std::vector<const Node*> args;
    std::vector<bool> random_params;
    std::vector<Arg> kernel_args;
    for (int a : order) {
      args.push_back(args_[a]);
      random_params.push_back(random_params_[a]);
      kernel_args.push_back(k_.args[a]);
    }
    args_ = std::move(args);
    random_params_ = std::move(random_params);
    k_.args = std::move(kernel_args);
    for (ValueNode& v : k_.values)
      if (v.kind == ValueNode::Load || v.kind == ValueNode::Random) v.arg = renumbered[v.arg];
    for (Store& s : k_.inner_stores) s.arg = renumbered[s.arg];
    for (Store& s : k_.outer_stores) s.arg = renumbered[s.arg];
    for (Reduction& r : k_.reductions)
      for (Store& s : r.stores) s.arg = renumbered[s.arg];
  }

  // A row reduction whose per-element value is costly (softmax's exp(x - max)) and reappears in
  // the single inner store (exp(x - max) / sum) stores that value in the output as it reduces;
  // the inner store loads it back. Only when the rewritten store reads nothing else per element
  // (an output computed in place over its input stays correct) and the output's dtype holds the
  // value exactly.
  void stash_costly_reduction_value() {
    if (k_.inner_stores.size() != 1 || k_.reductions.empty()) return;
    Store& s = k_.inner_stores[0];
    Reduction& r = k_.reductions.back();
    if (ir::is_arg_reduction(r.op) || k_.values[r.value].dtype != k_.args[s.arg].dtype || !costly(r.value)) return;
    ValueNode stashed = make_value(ValueNode::Load, k_.values[r.value].dtype);
    stashed.arg = s.arg;
    stashed.index = s.index;
    SourceLoc loc = k_.locs[r.value];  // copied first: value() may grow k_.locs
    int load = located(value(std::move(stashed)), loc);
    std::map<int, int> rewritten;
    int final_value = substitute(s.value, r.value, load, rewritten);
    if (final_value == s.value || reads_elements_besides(final_value, load)) return;
    r.stores.push_back({s.arg, s.index, r.value});
    s.value = final_value;
  }

  // Whether value `id` or a value it is computed from satisfies pred(id, node). Values come
  // after their operands, so one pass in id order answers it without walking shared
  // subexpressions twice.
  template <typename Pred>
  bool any_below(int id, Pred pred) const {
    std::vector<bool> has(static_cast<size_t>(id) + 1);
    for (int i = 0; i <= id; ++i) {
      const ValueNode& v = k_.values[i];
      has[i] = pred(i, v) || std::any_of(v.operands.begin(), v.operands.end(), [&](int o) { return has[o]; });
    }
    return has[id];
  }

  // Whether value `id` computes a transcendental.
  bool costly(int id) const {
    return any_below(id, [](int, const ValueNode& v) {
      return v.kind == ValueNode::Elementwise && (v.op == Op::Exp || v.op == Op::Log || v.op == Op::Tanh ||
                                                  v.op == Op::Erf || v.op == Op::Sin || v.op == Op::Cos ||
                                                  v.op == Op::Pow);
    });
  }

  // `id` with value `from` replaced by `to` (new nodes appended, hash-consed).
  int substitute(int id, int from, int to, std::map<int, int>& done) {
    if (id == from) return to;
    if (auto it = done.find(id); it != done.end()) return it->second;
    ValueNode v = k_.values[id];
    bool changed = false;
    for (int& o : v.operands) {
      int n = substitute(o, from, to, done);
      changed |= n != o;
      o = n;
    }
    SourceLoc loc = k_.locs[id];  // copied first: value() may grow k_.locs
    return done[id] = changed ? located(value(std::move(v)), loc) : id;
  }

  // Whether `id` loads (or draws) anything per inner point other than `allowed`.
  bool reads_elements_besides(int id, int allowed) const {
    std::vector<bool> inner_dependent = depends_on_inner();
    return any_below(id, [&](int i, const ValueNode& v) {
      return i != allowed && (v.kind == ValueNode::Load || v.kind == ValueNode::Random) && inner_dependent[v.index];
    });
  }

  // Per index node: whether it reads an inner loop variable.
  std::vector<bool> depends_on_inner() const {
    std::vector<bool> reads(k_.indices.size());
    for (size_t var = k_.outer.size(); var < k_.outer.size() + k_.inner.size(); ++var) {
      std::vector<bool> on_var = depends_on(k_, static_cast<int>(var));
      for (size_t i = 0; i < reads.size(); ++i) reads[i] = reads[i] || on_var[i];
    }
    return reads;
  }

  // --- index arithmetic, folded and hash-consed ---
  int index(IndexNode n) {
    auto is_const = [&](int id, int64_t v) {
      return k_.indices[id].kind == IndexNode::Const && k_.indices[id].value == v;
    };
    if (n.kind >= IndexNode::Add && k_.indices[n.a].kind == IndexNode::Const &&
        k_.indices[n.b].kind == IndexNode::Const) {
      int64_t a = k_.indices[n.a].value, b = k_.indices[n.b].value;
      int64_t v = n.kind == IndexNode::Add ? a + b : n.kind == IndexNode::Mul ? a * b
                  : b == 0 ? 0  // only in an empty domain, which runs no point
                  : n.kind == IndexNode::FloorDiv ? a / b : a % b;
      return index({IndexNode::Const, v});
    }
    if (n.kind == IndexNode::Add && is_const(n.b, 0)) return n.a;
    if (n.kind == IndexNode::Add && is_const(n.a, 0)) return n.b;
    if (n.kind == IndexNode::Mul && (is_const(n.a, 0) || is_const(n.b, 0))) return zero();
    if (n.kind == IndexNode::Mul && is_const(n.b, 1)) return n.a;
    if (n.kind == IndexNode::Mul && is_const(n.a, 1)) return n.b;
    if (n.kind == IndexNode::FloorDiv && is_const(n.b, 1)) return n.a;
    if (n.kind == IndexNode::Mod && is_const(n.b, 1)) return zero();
    // x / c and x % c for x known to lie in [0, c): reshapes that keep the row-major order then
    // index without division, at every batch size alike.
    if ((n.kind == IndexNode::FloorDiv || n.kind == IndexNode::Mod) && k_.indices[n.b].kind == IndexNode::Const &&
        range_[n.a].lo >= 0 && range_[n.a].hi < k_.indices[n.b].value)
      return n.kind == IndexNode::Mod ? n.a : zero();
    if (int folded = fold_multiple(n); folded >= 0) return folded;
    if (n.kind == IndexNode::Mul && k_.indices[n.a].kind == IndexNode::Mul && is_const_node(k_.indices[n.a].b) &&
        is_const_node(n.b))  // (x * a) * b = x * (a * b)
      return mul(k_.indices[n.a].a, k_.indices[k_.indices[n.a].b].value * k_.indices[n.b].value);
    if (n.kind == IndexNode::Add) {
      if (int whole = rejoin(n.a, n.b); whole >= 0) return whole;
      // (u + v) + w, v or u pairs with w. A copy: rejoin may add nodes, moving k_.indices.
      if (IndexNode l = k_.indices[n.a]; l.kind == IndexNode::Add) {
        if (int whole = rejoin(l.b, n.b); whole >= 0) return add(l.a, whole);
        if (int whole = rejoin(l.a, n.b); whole >= 0) return add(l.b, whole);
      }
    }
    auto key = std::make_tuple(n.kind, n.value, n.a, n.b);
    auto it = index_ids_.find(key);
    if (it != index_ids_.end()) return it->second;
    k_.indices.push_back(n);
    range_.push_back(node_range(n, range_, var_ranges_));
    return index_ids_[key] = static_cast<int>(k_.indices.size()) - 1;
  }

  bool is_const_node(int id) const { return k_.indices[id].kind == IndexNode::Const; }

  // Multiples of c vanish under % c and divide out of / c (c > 0 dividing m, x >= 0):
  // (x + z * m) % c = x % c and (x + z * m) / c = x / c + z * (m / c). -1 when n is not so.
  int fold_multiple(const IndexNode& n) {
    if ((n.kind != IndexNode::FloorDiv && n.kind != IndexNode::Mod) || !is_const_node(n.b)) return -1;
    int64_t c = k_.indices[n.b].value;
    IndexNode sum = k_.indices[n.a];  // copies: building nodes below may move k_.indices
    if (c <= 0 || sum.kind != IndexNode::Add) return -1;
    for (auto [x, t] : {std::pair{sum.a, sum.b}, std::pair{sum.b, sum.a}}) {
      IndexNode term = k_.indices[t];
      if (range_[x].lo < 0) continue;
      int64_t m = term.kind == IndexNode::Const ? term.value
                  : term.kind == IndexNode::Mul && is_const_node(term.b) ? k_.indices[term.b].value
                                                                       : 1;
      if (m % c != 0 || (term.kind != IndexNode::Const && term.kind != IndexNode::Mul)) continue;
      if (n.kind == IndexNode::Mod) return mod(x, c);
      int quotient = div(x, c);
      return add(quotient, term.kind == IndexNode::Const ? constant(m / c) : mul(term.a, m / c));
    }
    return -1;
  }

  // (x % c) * s + (x / c) * (c * s) = x * s, in either order (s may be 1: no multiplication).
  // -1 when p and q are not such a pair.
  int rejoin(int p, int q) {
    auto split = [&](int id) {  // id as (base, multiplier)
      const IndexNode& n = k_.indices[id];
      if (n.kind == IndexNode::Mul && is_const_node(n.b)) return std::pair{n.a, k_.indices[n.b].value};
      return std::pair{id, int64_t{1}};
    };
    for (auto [r, d] : {std::pair{p, q}, std::pair{q, p}}) {
      auto [rem, s] = split(r);
      auto [quot, cs] = split(d);
      const IndexNode &m = k_.indices[rem], &f = k_.indices[quot];
      if (m.kind != IndexNode::Mod || f.kind != IndexNode::FloorDiv || m.a != f.a || m.b != f.b) continue;
      if (!is_const_node(m.b) || cs != k_.indices[m.b].value * s) continue;
      return mul(m.a, s);
    }
    return -1;
  }

  int constant(int64_t v) { return index({IndexNode::Const, v}); }
  int zero() { return constant(0); }
  int add(int a, int b) { return index({IndexNode::Add, 0, a, b}); }
  int mul(int a, int64_t c) { return index({IndexNode::Mul, 0, a, constant(c)}); }
  int div(int a, int64_t c) { return index({IndexNode::FloorDiv, 0, a, constant(c)}); }
  int mod(int a, int64_t c) { return index({IndexNode::Mod, 0, a, constant(c)}); }

  // An axis of size 1 adds nothing to the flat index, except the batch axis of a kernel whose
  // extent may be a runtime argument: there the index must read the same at batch 1 as at any
  // other batch size, for the kernels to match.
  int flatten(const Coords& at, const Shape& shape) {
    Shape strides = contiguous_strides(shape);
    int flat = zero();
    for (size_t k = 0; k < at.size(); ++k)
      if (shape[k] != 1 || at[k] == runtime_index_) flat = add(flat, mul(at[k], strides[k]));
    return flat;
  }

  // --- values, hash-consed ---
  int value(ValueNode v) {
    for (auto [it, end] = value_ids_.equal_range(v.kind); it != end; ++it)
      if (k_.values[it->second] == v) return it->second;
    k_.values.push_back(std::move(v));
    k_.locs.emplace_back();
    int id = static_cast<int>(k_.values.size()) - 1;
    value_ids_.emplace(k_.values[id].kind, id);
    return id;
  }
  // The first node to compute a value names its line.
  int located(int id, SourceLoc loc) {
    if (k_.locs[id].line == 0) k_.locs[id] = loc;
    return id;
  }
  int constant_value(const Scalar& s, ScalarType t) {
    ValueNode v = make_value(ValueNode::Constant, t);
    v.constant = s.cast(t);
    return value(std::move(v));
  }
  int elementwise(Op op, ScalarType t, std::vector<int> operands) {
    ValueNode v = make_value(ValueNode::Elementwise, t);
    v.op = op;
    v.operands = std::move(operands);
    return value(std::move(v));
  }
  int in_range(int at, int64_t lo, int64_t hi) {
    ValueNode v = make_value(ValueNode::InRange, kBool);
    v.index = at;
    v.lo = lo;
    v.hi = hi;
    return value(std::move(v));
  }

  int arg_of(const Node* n, bool output = false) {
    for (size_t i = 0; i < args_.size(); ++i)
      if (args_[i] == n && !random_params_[i]) return static_cast<int>(i);
    args_.push_back(n);
    random_params_.push_back(false);
    k_.args.push_back({n->dtype, n->numel(), output});
    k_.args.back().by_value = n->runtime_scalar;
    return static_cast<int>(args_.size()) - 1;
  }

  // The argument holding random node n's {seed, offset}: launch-time values, so a new seed or
  // offset (every dropout mask of a training loop) compiles nothing.
  int random_params_of(const Node* n) {
    for (size_t i = 0; i < args_.size(); ++i)
      if (args_[i] == n && random_params_[i]) return static_cast<int>(i);
    args_.push_back(n);
    random_params_.push_back(true);
    k_.args.push_back({kInt64, 2, false});
    k_.args.back().by_value = true;
    return static_cast<int>(args_.size()) - 1;
  }

  void add_reduction(const Node* r) {
    const Node* x = r->inputs[0].get();
    int position = ir::is_arg_reduction(r->op) ? domain_vars_[r->attrs.axes[0]] : -1;
    k_.reductions.push_back({r->op, x->dtype, emit(x, domain_vars_), position});
    ValueNode acc = make_value(ValueNode::Accumulator, r->dtype);
    acc.reduction = static_cast<int>(k_.reductions.size()) - 1;
    accumulators_[r] = located(value(std::move(acc)), r->loc);
  }

  // The value of node `n` at coordinate `at`.
  int emit(const Node* n, const Coords& at) {
    auto key = std::make_pair(n, at);
    auto it = memo_.find(key);
    if (it != memo_.end()) return it->second;
    int id = located(compute(n, at), n->loc);
    memo_[key] = id;
    return id;
  }

  int compute(const Node* n, const Coords& at) {
    if (auto acc = accumulators_.find(n); acc != accumulators_.end()) return acc->second;
    if (n->is_buffer() || (n != spec_.root && !is_extra_output(n) && spec_.materialized(n))) {
      ValueNode v = make_value(ValueNode::Load, n->dtype);
      v.arg = arg_of(n);
      v.index = n->runtime_scalar ? zero() : flatten(at, n->shape);  // one element at any batch size
      return value(std::move(v));
    }
    const ir::Attrs& a = n->attrs;
    auto input = [&](size_t i, const Coords& c) { return emit(n->inputs[i].get(), c); };
    switch (n->op) {
      case Op::Full: return constant_value(a.value, n->dtype);
      case Op::Random: {
        ValueNode v = make_value(ValueNode::Random, n->dtype);
        v.arg = random_params_of(n);
        v.index = flatten(at, n->shape);
        v.distribution = a.distribution;
        return value(std::move(v));
      }
      case Op::Iota: {
        // float16/bfloat16: computed in float32 and rounded once, as the reference does.
        ScalarType t = compute_dtype(n->dtype);
        ValueNode v = make_value(ValueNode::IndexValue, t);
        v.index = flatten(at, n->shape);
        int i = value(std::move(v));
        if (!(a.delta == Scalar(1))) i = elementwise(Op::Mul, t, {i, constant_value(a.delta, t)});
        if (!(a.value == Scalar(0))) i = elementwise(Op::Add, t, {i, constant_value(a.value, t)});
        return t == n->dtype ? i : elementwise(Op::Cast, n->dtype, {i});
      }
      case Op::Reshape: return input(0, reshape_coords(n, at));
      case Op::Permute: {
        Coords in(at.size());
        for (size_t i = 0; i < at.size(); ++i) in[a.axes[i]] = at[i];
        return input(0, in);
      }
      case Op::Expand: {
        Coords in = at;
        for (size_t k = 0; k < in.size(); ++k)  // broadcast axes read element 0
          if (n->inputs[0]->shape[k] == 1 && n->shape[k] != 1) in[k] = zero();
        return input(0, in);
      }
      case Op::Slice: {
        Coords in(at.size());
        for (size_t k = 0; k < at.size(); ++k) in[k] = add(mul(at[k], a.step[k]), constant(a.low[k]));
        return input(0, in);
      }
      case Op::Pad: return pad(n, at);
      case Op::Concat: return concat(n, at);
      default: break;
    }
    std::vector<int> operands;
    for (const ir::NodePtr& in : n->inputs) operands.push_back(emit(in.get(), at));
    return elementwise(n->op, n->dtype, std::move(operands));
  }

  // A reshape's input coordinates. A prefix of axes the reshape keeps (the batch axis) maps
  // directly; after it, input axes of size 1 read 0 and the other axes form groups whose sizes
  // multiply to the same product on both sides (a merge, a split or one kept axis), each mapped
  // through the group's flat index. So reshapes index without division where the order allows,
  // and a batch of one indexes as any other batch size.
  Coords reshape_coords(const Node* n, const Coords& at) {
    const Shape &in_shape = n->inputs[0]->shape, &out_shape = n->shape;
    Coords in(in_shape.size(), zero());
    size_t p = 0;
    for (; p < in_shape.size() && p < out_shape.size() && in_shape[p] == out_shape[p]; ++p) in[p] = at[p];
    if (numel(in_shape) == 0) return in;  // no element is ever read
    std::vector<size_t> in_axes, out_axes;  // the axes after the prefix that are not of size 1
    for (size_t k = p; k < in_shape.size(); ++k)
      if (in_shape[k] != 1) in_axes.push_back(k);
    for (size_t k = p; k < out_shape.size(); ++k)
      if (out_shape[k] != 1) out_axes.push_back(k);
    for (size_t i = 0, j = 0; i < in_axes.size() && j < out_axes.size();) {
      size_t i0 = i, j0 = j;
      int64_t in_size = in_shape[in_axes[i++]], out_size = out_shape[out_axes[j++]];
      while (in_size != out_size) {
        if (in_size < out_size && i < in_axes.size()) in_size *= in_shape[in_axes[i++]];
        else if (out_size < in_size && j < out_axes.size()) out_size *= out_shape[out_axes[j++]];
        else return in;  // unreachable for a valid reshape (equal element counts)
      }
      int flat = zero();
      for (size_t q = j, stride = 1; q-- > j0; stride *= out_shape[out_axes[q]])
        flat = add(flat, mul(at[out_axes[q]], static_cast<int64_t>(stride)));
      // The group's outermost axis needs no modulo (the flat index is below the group's size),
      // which keeps a merge affine even at the out-of-range coordinates a pad reads.
      for (size_t q = i, stride = 1; q-- > i0; stride *= in_shape[in_axes[q]]) {
        int quotient = div(flat, static_cast<int64_t>(stride));
        in[in_axes[q]] = q == i0 ? quotient : mod(quotient, in_shape[in_axes[q]]);
      }
    }
    return in;
  }

  // Positions in the padding read the input at coordinates outside it (the value is then
  // discarded by the InRange test): backends read 0 where an index leaves its argument, and the
  // address stays affine, so the CPU's vector code loads it with a mask.
  int pad(const Node* n, const Coords& at) {
    const ir::Attrs& a = n->attrs;
    const Shape& in_shape = n->inputs[0]->shape;
    if (numel(in_shape) == 0) return constant_value(a.value, n->dtype);
    Coords in(at.size());
    std::vector<int> conditions;
    for (size_t k = 0; k < at.size(); ++k) {
      int64_t period = a.interior[k] + 1, size = in_shape[k];
      int64_t extent = (size - 1) * period + 1;
      if (a.low[k] > 0 || a.high[k] > 0) conditions.push_back(in_range(at[k], a.low[k], a.low[k] + extent));
      if (period == 1) {
        in[k] = add(at[k], constant(-a.low[k]));
        continue;
      }
      int64_t lift = (a.low[k] + period * size - 1) / (period * size) * (period * size);
      int rel = add(at[k], constant(lift - a.low[k]));  // = at - low + lift >= 0
      in[k] = add(div(rel, period), constant(-lift / period));
      conditions.push_back(in_range(mod(rel, period), 0, 1));
    }
    int result = emit(n->inputs[0].get(), in);
    int fill = constant_value(a.value, n->dtype);
    for (int c : conditions) result = elementwise(Op::Where, n->dtype, {c, result, fill});
    return result;
  }

  int concat(const Node* n, const Coords& at) {
    int64_t axis = n->attrs.axes[0];
    std::vector<int64_t> offsets;
    int64_t offset = 0;
    for (const ir::NodePtr& in : n->inputs) offsets.push_back(offset), offset += in->shape[axis];
    int result = -1;
    for (size_t j = n->inputs.size(); j-- > 0;) {
      int64_t size = n->inputs[j]->shape[axis];
      if (size == 0) continue;
      Coords in = at;  // outside operand j's part the value is not used (as in pad)
      in[axis] = add(at[axis], constant(-offsets[j]));
      int piece = emit(n->inputs[j].get(), in);
      result = result < 0 ? piece
                          : elementwise(Op::Where, n->dtype,
                                        {in_range(at[axis], offsets[j], offsets[j] + size), piece, result});
    }
    return result;
  }

  const KernelSpec& spec_;
  Kernel k_;
  std::vector<const Node*> args_;
  std::vector<bool> random_params_;  // per argument
  Coords domain_vars_;
  int runtime_index_ = -1;  // the index id of the batch axis' variable, when it may be a runtime extent
  std::map<std::tuple<IndexNode::Kind, int64_t, int, int>, int> index_ids_;
  std::vector<Interval> range_;       // per index node: its least and greatest value
  std::vector<Interval> var_ranges_;  // per loop variable: [0, extent - 1]
  std::multimap<ValueNode::Kind, int> value_ids_;
  std::map<std::pair<const Node*, Coords>, int> memo_;
  std::map<const Node*, int> accumulators_;
};

}  // namespace

LoweredKernel lower(const KernelSpec& spec) { return Lowerer(spec).run(); }

}  // namespace kiln::codegen
