#include "codegen/interpreter.h"

#include <limits>
#include <vector>

#include "codegen/runtime_extent.h"
#include "ir/philox.h"
#include "ir/semantics.h"

namespace kiln::codegen {

namespace {

// One value: floats in `f` (already rounded to their dtype), integers and bools in `i`.
struct V {
  double f = 0;
  int64_t i = 0;
};

template <typename T> inline constexpr bool kInF = std::is_floating_point_v<T> || is_reduced_float_v<T>;

template <typename T> T get(const V& v) {
  if constexpr (kInF<T>) return static_cast<T>(v.f);
  else return static_cast<T>(v.i);
}
template <typename T> V put(T x) {
  V v;
  if constexpr (kInF<T>) v.f = static_cast<double>(x);
  else v.i = static_cast<int64_t>(x);
  return v;
}

// `v` rounded to `t` (a float32 accumulator read as float16, say).
V round_to(ScalarType t, const V& v) {
  return dispatch_dtype(t, [&]<typename T>() { return put<T>(get<T>(v)); });
}

class Interpreter {
 public:
  Interpreter(const Kernel& k, void* const* args, int64_t extent)
      : k_(k), args_(args), extent_(extent), outer_(outer_extents(k, extent)), inner_(inner_extents(k, extent)),
        vars_(k.outer.size() + k.inner.size()) {}

  void run(int64_t begin, int64_t end) {
    int64_t inner_points = numel(inner_);
    std::vector<V> acc(k_.reductions.size());  // what an Accumulator reads
    for (int64_t o = begin; o < end; ++o) {
      set_vars(outer_, o, 0);
      for (size_t r = 0; r < k_.reductions.size(); ++r) {
        const Reduction& red = k_.reductions[r];
        V best = identity(red);
        int64_t position = 0;
        for (int64_t i = 0; i < inner_points; ++i) {
          set_vars(inner_, i, k_.outer.size());
          V v = eval(red.value, acc);
          if (!ir::is_arg_reduction(red.op)) best = combine(red, best, v);
          else if (replaces(red, v, best)) best = v, position = index(red.position);
          for (const Store& s : red.stores) store(s, acc);
        }
        acc[r] = ir::is_arg_reduction(red.op) ? put<int64_t>(position) : round_to(red.dtype, best);
      }
      for (int64_t i = 0; i < inner_points && !k_.inner_stores.empty(); ++i) {
        set_vars(inner_, i, k_.outer.size());
        for (const Store& s : k_.inner_stores) store(s, acc);
      }
      for (size_t v = k_.outer.size(); v < vars_.size(); ++v) vars_[v] = 0;
      for (const Store& s : k_.outer_stores) store(s, acc);
    }
  }

 private:
  void set_vars(const Shape& shape, int64_t flat, size_t first) {
    for (size_t d = shape.size(); d-- > 0;) {
      vars_[first + d] = flat % shape[d];
      flat /= shape[d];
    }
  }

  int64_t index(int id) const {
    const IndexNode& n = k_.indices[id];
    switch (n.kind) {
      case IndexNode::Var: return vars_[n.value];
      case IndexNode::Const: return n.value;
      case IndexNode::Add: return index(n.a) + index(n.b);
      case IndexNode::Mul: return index(n.a) * index(n.b);
      case IndexNode::FloorDiv: {  // rounding down, as the backends
        int64_t a = index(n.a), b = index(n.b), q = a / b;
        return q - ((a % b != 0) && ((a < 0) != (b < 0)));
      }
      case IndexNode::Mod: {
        int64_t a = index(n.a), b = index(n.b), r = a % b;
        return r != 0 && ((r < 0) != (b < 0)) ? r + b : r;
      }
    }
    return 0;
  }

  // Reductions fold in compute_dtype: the 16-bit floats accumulate in float32, rounded once.
  V identity(const Reduction& r) const {
    return dispatch_dtype(compute_dtype(r.dtype), [&]<typename T>() { return put<T>(ir::reduction_identity<T>(r.op)); });
  }

  V combine(const Reduction& r, const V& a, const V& b) const {
    return dispatch_dtype(compute_dtype(r.dtype), [&]<typename T>() { return put<T>(ir::reduction_combine<T>(r.op, get<T>(a), get<T>(b))); });
  }

  bool replaces(const Reduction& r, const V& v, const V& best) const {
    return dispatch_dtype(r.dtype, [&]<typename T>() { return ir::arg_replaces<T>(r.op, get<T>(v), get<T>(best)); });
  }

  void store(const Store& s, const std::vector<V>& acc) {
    V v = eval(s.value, acc);
    int64_t at = index(s.index);
    dispatch_dtype(k_.args[s.arg].dtype, [&]<typename T>() { static_cast<T*>(args_[s.arg])[at] = get<T>(v); });
  }

  V eval(int id, const std::vector<V>& acc) const {
    const ValueNode& n = k_.values[id];
    switch (n.kind) {
      case ValueNode::Load: {
        int64_t at = index(n.index);
        if (at < 0 || at >= arg_numel(k_, n.arg, extent_)) return V{};  // outside its argument (pad, concat): 0
        return dispatch_dtype(n.dtype, [&]<typename T>() { return put<T>(static_cast<const T*>(args_[n.arg])[at]); });
      }
      case ValueNode::Constant:
        return dispatch_dtype(n.dtype, [&]<typename T>() { return put<T>(n.constant.to<T>()); });
      case ValueNode::IndexValue:
        return dispatch_dtype(n.dtype, [&]<typename T>() { return put<T>(static_cast<T>(index(n.index))); });
      case ValueNode::InRange: {
        int64_t at = index(n.index);
        return put<bool>(n.lo <= at && at < n.hi);
      }
      case ValueNode::Accumulator: return acc[n.reduction];
      case ValueNode::Random: {
        const int64_t* p = static_cast<const int64_t*>(args_[n.arg]);
        uint64_t seed = static_cast<uint64_t>(p[0]), offset = static_cast<uint64_t>(p[1]);
        uint64_t at = static_cast<uint64_t>(index(n.index));
        return dispatch_dtype(n.dtype, [&]<typename T>() {
          using C = compute_t<T>;  // the 16-bit floats draw in float32, then round
          if constexpr (std::is_floating_point_v<C>)
            return put<T>(T(n.distribution == ir::Distribution::Normal ? ir::philox_normal<C>(seed, at, offset)
                                                                       : ir::philox_uniform<C>(seed, at, offset)));
          else
            return V{};
        });
      }
      case ValueNode::Elementwise: break;
    }
    std::vector<V> in;
    for (int o : n.operands) in.push_back(eval(o, acc));
    ScalarType operand_type = k_.values[n.operands.back()].dtype;
    return dispatch_dtype(operand_type, [&]<typename T>() -> V {
      V out;
      if (n.op == ir::Op::Where) return ir::select(get<bool>(in[0]), in[1], in[2]);
      if (n.op == ir::Op::Cast)
        return dispatch_dtype(n.dtype, [&]<typename To>() { return put<To>(ir::convert<To>(get<T>(in[0]))); });
      if (ir::visit_unary<T>(n.op, [&](auto f) { out = put<T>(f(get<T>(in[0]))); })) return out;
      if (ir::visit_binary<T>(n.op, [&](auto f) { out = put<T>(f(get<T>(in[0]), get<T>(in[1]))); })) return out;
      ir::visit_compare<T>(n.op, [&](auto f) { out = put<bool>(f(get<T>(in[0]), get<T>(in[1]))); });
      return out;
    });
  }

  const Kernel& k_;
  void* const* args_;
  int64_t extent_;
  Shape outer_, inner_;  // the extents, the runtime one filled in
  std::vector<int64_t> vars_;
};

}  // namespace

void interpret(const Kernel& k, void* const* args, const int64_t* extents, int64_t begin, int64_t end) {
  Interpreter(k, args, k.runtime_var >= 0 ? extents[0] : 0).run(begin, end);
}

}  // namespace kiln::codegen
