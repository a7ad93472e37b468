// Constant folding: evaluates ops over `full` constants with the reference semantics of
// ir/semantics.h, so the folded value is the one the executor would have computed.
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <type_traits>

#include "ir/ops.h"
#include "ir/semantics.h"
#include "passes/simplify_rules.h"

namespace kiln::passes {

using ir::Node;
using ir::NodePtr;
using ir::Op;
using ir::OpKind;

bool same_scalar(const Scalar& a, const Scalar& b) {
  if (a.type() != b.type()) return false;
  if (a.is_floating_point()) return std::bit_cast<uint64_t>(a.to_double()) == std::bit_cast<uint64_t>(b.to_double());
  return a.to_long() == b.to_long();
}

const Scalar* full_value(const Node& n) { return n.op == Op::Full ? &n.attrs.value : nullptr; }

namespace {

template <typename T>
Scalar scalar_of(T v) {
  if constexpr (std::is_same_v<T, bool>) return Scalar(v);
  else if constexpr (std::is_floating_point_v<T> || is_reduced_float_v<T>) return Scalar(static_cast<double>(v));
  else return Scalar(static_cast<int64_t>(v));
}

using Folded = std::optional<Scalar>;

Folded fold_unary(Op op, ScalarType t, const Scalar& x) {
  return dispatch_dtype(t, [&]<typename T>() {
    Folded out;
    ir::visit_unary<T>(op, [&](auto f) { out = scalar_of<T>(f(x.to<T>())); });
    return out;
  });
}

// Integer division by zero (and INT_MIN / -1) is undefined behaviour: leave it to run time, where
// it faults exactly as the unsimplified graph would, instead of faulting in the compiler.
template <typename T>
bool defined_division(T a, T b) {
  if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
    return b != 0 && !(b == -1 && a == std::numeric_limits<T>::min());
  else if constexpr (std::is_same_v<T, bool>)
    return b;
  else
    return true;
}

Folded fold_binary(Op op, ScalarType t, const Scalar& a, const Scalar& b) {
  return dispatch_dtype(t, [&]<typename T>() {
    Folded out;
    T x = a.to<T>(), y = b.to<T>();
    if (op == Op::Div && !defined_division(x, y)) return out;
    ir::visit_binary<T>(op, [&](auto f) { out = scalar_of<T>(f(x, y)); });
    return out;
  });
}

Folded fold_compare(Op op, ScalarType t, const Scalar& a, const Scalar& b) {
  return dispatch_dtype(t, [&]<typename T>() {
    Folded out;
    ir::visit_compare<T>(op, [&](auto f) { out = Scalar(static_cast<bool>(f(a.to<T>(), b.to<T>()))); });
    return out;
  });
}

// A floating value converts to an integer type only when it lies in its range (else undefined).
template <typename To, typename From>
bool defined_conversion(From x) {
  if constexpr (std::is_floating_point_v<compute_t<From>> && std::is_integral_v<To> && !std::is_same_v<To, bool>) {
    // Both bounds are powers of two, exact in every floating type.
    constexpr double lo = static_cast<double>(std::numeric_limits<To>::min());
    constexpr double hi = -lo;
    double v = static_cast<double>(x);
    return v > lo - 1 && v < hi;
  } else {
    return true;
  }
}

Folded fold_cast(ScalarType from, ScalarType to, const Scalar& x) {
  return dispatch_dtype(from, [&]<typename From>() {
    return dispatch_dtype(to, [&]<typename To>() {
      From v = x.to<From>();
      return defined_conversion<To>(v) ? Folded(scalar_of<To>(ir::convert<To>(v))) : Folded();
    });
  });
}

// The folded value of an elementwise op whose operands are all constants.
Folded fold_elementwise(const Node& n) {
  std::vector<const Scalar*> v;
  for (const NodePtr& in : n.inputs) {
    v.push_back(full_value(*in));
    if (!v.back()) return {};
  }
  ScalarType t = n.inputs.back()->dtype;  // the operands' type
  switch (ir::op_kind(n.op)) {
    case OpKind::Unary: return fold_unary(n.op, t, *v[0]);
    case OpKind::Binary: return fold_binary(n.op, t, *v[0], *v[1]);
    case OpKind::Compare: return fold_compare(n.op, t, *v[0], *v[1]);
    case OpKind::Select: return ir::select(v[0]->to<bool>(), *v[1], *v[2]);
    case OpKind::Cast: return fold_cast(t, n.dtype, *v[0]);
    default: return {};
  }
}

// Moving the elements of a constant keeps it the same constant. Pad and concat need every
// element they write to hold that one value.
const Scalar* moved_constant(const Node& n) {
  switch (n.op) {
    case Op::Reshape:
    case Op::Permute:
    case Op::Expand:
    case Op::Slice: return full_value(*n.inputs[0]);
    case Op::Pad: {
      const Scalar* v = full_value(*n.inputs[0]);
      if (n.inputs[0]->numel() == 0) return &n.attrs.value;  // nothing but padding
      return v && same_scalar(*v, n.attrs.value) ? v : nullptr;
    }
    case Op::Concat: {
      const Scalar* v = full_value(*n.inputs[0]);
      for (const NodePtr& in : n.inputs)
        if (!v || !full_value(*in) || !same_scalar(*v, *full_value(*in))) return nullptr;
      return v;
    }
    default: return nullptr;
  }
}

}  // namespace

NodePtr fold_constants(const NodePtr& n) {
  Folded value;
  switch (ir::op_kind(n->op)) {
    case OpKind::Unary:
    case OpKind::Binary:
    case OpKind::Compare:
    case OpKind::Select:
    case OpKind::Cast: value = fold_elementwise(*n); break;
    case OpKind::Movement:
      if (const Scalar* v = moved_constant(*n)) value = *v;
      break;
    default: break;
  }
  if (!value) return nullptr;
  return ir::full(*value, n->shape, n->dtype, n->loc, n->device);
}

}  // namespace kiln::passes
