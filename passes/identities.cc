// Algebraic and movement identities. Each holds exactly, for every value including NaN, inf and
// -0.0, under the reference semantics (ir/semantics.h); rules that would not (x * 0 -> 0,
// x - x -> 0, float x + 0.0 -> x when x may be -0.0) are deliberately absent.
#include <cmath>
#include <cstdint>
#include <vector>

#include "ir/ops.h"
#include "passes/simplify_rules.h"

namespace kiln::passes {

using ir::Node;
using ir::NodePtr;
using ir::Op;

namespace {

// Whether `n` is a compiled constant (a `full`) equal to `v` in n's dtype (1 is true for bool).
// Runtime scalars (one-element buffers) are never looked at: a learning rate that passes through
// 0 or 1, or a batch of one, must not change the schedule.
bool is_constant(const Node& n, double v) {
  const Scalar* c = full_value(n);
  return c && c->to_double() == v;
}

bool is_negative_zero(const Scalar& s) {
  return s.is_floating_point() && s.to_double() == 0 && std::signbit(s.to_double());
}

// Whether an iota's elements, start + i * step computed in double, can be -0.0: at i = 0 from a
// -0.0 start, or when a tiny negative value rounds to -0.0 in float32; never when start and step
// are integers (sums of integers cancel to +0.0).
bool iota_may_be_negative_zero(const ir::Attrs& a) {
  double start = a.value.to_double(), step = a.delta.to_double();
  return (start == 0 && std::signbit(start)) || std::trunc(start) != start || std::trunc(step) != step;
}

// Whether every value of `from` converts to `to` exactly (so a later cast sees the same value).
bool converts_exactly(ScalarType from, ScalarType to) {
  if (from == to || from == kBool) return true;
  // Every wider integer type is signed, so it holds every narrower one's values.
  if (is_integral(from, false) && is_integral(to, false)) return element_size(to) > element_size(from);
  if (is_reduced_float(from)) return to == kFloat32 || to == kFloat64;
  if (element_size(from) == 1) return is_floating(to);  // 8 bits fit every float's significand
  if (from == kInt16) return to == kFloat32 || to == kFloat64;  // float16 has 11 bits, bfloat16 8
  if (from == kInt32) return to == kFloat64;
  if (from == kFloat32) return to == kFloat64;
  return false;  // int64 fits no float exactly; float64 and narrowing casts round
}

// Whether `n` may hold -0.0. Conservative: true unless the op provably never yields it. A short
// look through the graph covers the common cases (casts from integers, exp, sums, arange, rand).
bool may_be_negative_zero(const Node& n, int depth = 4) {
  if (!is_floating(n.dtype)) return false;
  if (depth == 0) return true;
  switch (n.op) {
    case Op::Full: return is_negative_zero(n.attrs.value);
    case Op::Iota: return iota_may_be_negative_zero(n.attrs);
    case Op::Random: return n.attrs.distribution != ir::Distribution::Uniform;  // uniform: k * 2^-24 or 2^-53
    case Op::Exp: return false;
    case Op::Cast: {
      // From an integer, zero is +0.0; a narrowing float cast may round a tiny negative to -0.0.
      const Node& x = *n.inputs[0];
      if (!is_floating(x.dtype)) return false;
      if (!converts_exactly(x.dtype, n.dtype)) return true;
      return may_be_negative_zero(x, depth - 1);
    }
    // In round-to-nearest a sum is -0.0 only when both terms are.
    case Op::Add:
      return may_be_negative_zero(*n.inputs[0], depth - 1) && may_be_negative_zero(*n.inputs[1], depth - 1);
    default: return true;
  }
}

// x + 0 -> x exactly when the zero is -0.0, or when x is never -0.0 (-0.0 + +0.0 is +0.0).
bool adds_nothing(const Node& x, const Node& zero) {
  if (!is_constant(zero, 0)) return false;
  if (!is_floating(zero.dtype)) return true;
  return is_negative_zero(zero.attrs.value) || !may_be_negative_zero(x);
}

// x - 0 -> x exactly when the zero is +0.0 (x - +0.0 is x + -0.0), or when x is never -0.0.
bool subtracts_nothing(const Node& x, const Node& zero) {
  if (!is_constant(zero, 0)) return false;
  if (!is_floating(zero.dtype)) return true;
  return !is_negative_zero(zero.attrs.value) || !may_be_negative_zero(x);
}

NodePtr binary_identity(const NodePtr& n) {
  const NodePtr& a = n->inputs[0];
  const NodePtr& b = n->inputs[1];
  switch (n->op) {
    case Op::Mul:
      if (is_constant(*b, 1)) return a;
      if (is_constant(*a, 1)) return b;
      return nullptr;
    case Op::Div: return is_constant(*b, 1) ? a : nullptr;
    case Op::Add:
      if (adds_nothing(*a, *b)) return a;
      if (adds_nothing(*b, *a)) return b;
      return nullptr;
    case Op::Sub: return subtracts_nothing(*a, *b) ? a : nullptr;
    // Both pick one operand; a NaN x yields a NaN either way.
    case Op::Maximum:
    case Op::Minimum: return a == b ? a : nullptr;
    default: return nullptr;
  }
}

NodePtr cast_identity(const NodePtr& n) {
  const NodePtr& x = n->inputs[0];
  if (x->dtype == n->dtype) return x;
  // cast(cast(y, A), B) == cast(y, B) when A holds every value of y's type: the outer cast then
  // sees y's exact value, so it rounds (or truncates, or tests for zero) exactly once either way.
  if (x->op == Op::Cast && converts_exactly(x->inputs[0]->dtype, x->dtype))
    return ir::cast(x->inputs[0], n->dtype, n->loc);
  return nullptr;
}

bool is_identity_permutation(const std::vector<int64_t>& perm) {
  for (size_t i = 0; i < perm.size(); ++i)
    if (perm[i] != static_cast<int64_t>(i)) return false;
  return true;
}

NodePtr permute_identity(const NodePtr& n) {
  const NodePtr& x = n->inputs[0];
  const std::vector<int64_t>& outer = n->attrs.axes;
  if (is_identity_permutation(outer)) return x;
  if (x->op != Op::Permute) return nullptr;
  // Output axis i is the inner permute's axis outer[i], which is its input's axis inner[outer[i]].
  const std::vector<int64_t>& inner = x->attrs.axes;
  std::vector<int64_t> composed(outer.size());
  for (size_t i = 0; i < outer.size(); ++i) composed[i] = inner[outer[i]];
  return ir::permute(x->inputs[0], std::move(composed), n->loc);
}

NodePtr movement_identity(const NodePtr& n) {
  const NodePtr& x = n->inputs[0];
  switch (n->op) {
    case Op::Reshape:
      if (x->shape == n->shape) return x;
      // Reshape keeps the row-major order, so only the last target matters.
      return x->op == Op::Reshape ? ir::reshape(x->inputs[0], n->shape, n->loc) : nullptr;
    case Op::Expand:
      if (x->shape == n->shape) return x;
      // The inner input's axes are 1 where the inner expand grew them, so it expands directly.
      return x->op == Op::Expand ? ir::expand(x->inputs[0], n->shape, n->loc) : nullptr;
    case Op::Permute: return permute_identity(n);
    // A slice or pad that keeps the shape keeps every element in place (a strided slice, or one
    // with an offset, is shorter; a pad with any padding on a non-empty axis is longer).
    case Op::Slice:
    case Op::Pad: return x->shape == n->shape ? x : nullptr;
    case Op::Concat: return n->inputs.size() == 1 ? x : nullptr;
    default: return nullptr;
  }
}

NodePtr where_identity(const NodePtr& n) {
  const NodePtr& cond = n->inputs[0];
  if (const Scalar* c = full_value(*cond)) return c->to<bool>() ? n->inputs[1] : n->inputs[2];
  return n->inputs[1] == n->inputs[2] ? n->inputs[1] : nullptr;
}

}  // namespace

NodePtr apply_identities(const NodePtr& n) {
  switch (ir::op_kind(n->op)) {
    case ir::OpKind::Unary: {
      const NodePtr& x = n->inputs[0];
      // -(-x) is x for every float (a sign flip) and, with wrapping, for every integer.
      return n->op == Op::Neg && x->op == Op::Neg ? x->inputs[0] : nullptr;
    }
    case ir::OpKind::Binary: return binary_identity(n);
    case ir::OpKind::Select: return where_identity(n);
    case ir::OpKind::Cast: return cast_identity(n);
    case ir::OpKind::Movement: return movement_identity(n);
    default: return nullptr;
  }
}

}  // namespace kiln::passes
