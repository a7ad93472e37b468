// Elementwise ops: promotion and broadcasting as in PyTorch, recorded as primitives; composite
// activations (sigmoid, relu, gelu, ...) are written in terms of them.
#include <cmath>
#include <numbers>

#include "frontend/recording.h"
#include "ir/composite.h"
#include "kiln/functions.h"

namespace kiln {

using detail::operand;
using ir::Op;

namespace {

int category_rank(ScalarType t) { return static_cast<int>(category(t)); }

ScalarType default_type(TypeCategory c) {
  return c == TypeCategory::Bool ? kBool : c == TypeCategory::Integral ? kInt64 : get_default_dtype();
}

// An operand as PyTorch's promotion sees it: a Scalar ("wrapped number"), a 0-dim tensor or a
// dimensioned tensor.
struct Operand {
  ir::NodePtr node;  // null for a scalar
  Scalar scalar;
  ScalarType dtype;
  int priority;  // 0 scalar, 1 zero-dim tensor, 2 dimensioned tensor
  bool runtime = false;  // a scalar the user passed: a kernel input, not a compiled constant
};

Operand from_tensor(const Tensor& t, const char* op, SourceLoc loc) {
  const ir::NodePtr& n = operand(t, op, loc);
  detail::check_device(t.device(), op, loc);
  return {n, {}, n->dtype, n->shape.empty() ? 1 : 2};
}

Operand from_scalar(const Scalar& s, bool runtime) { return {nullptr, s, s.type(), 0, runtime}; }

// torch.result_type: operands of the highest priority promote among themselves; one of lower
// priority lifts the result only if its category is higher, to its own type (0-dim tensors) or
// its category's default (scalars).
ScalarType promote(const std::vector<Operand>& xs) {
  int top = 0;
  for (const Operand& x : xs) top = std::max(top, x.priority);
  std::optional<ScalarType> result;
  for (const Operand& x : xs)
    if (x.priority == top) result = result ? promote_types(*result, x.dtype) : x.dtype;
  for (int p = top - 1; p >= 0; --p) {
    std::optional<ScalarType> lifted;
    for (const Operand& x : xs)
      if (x.priority == p && category_rank(x.dtype) > category_rank(*result)) {
        ScalarType t = p == 0 ? default_type(category(x.dtype)) : x.dtype;
        lifted = lifted ? promote_types(*lifted, t) : t;
      }
    if (lifted) result = lifted;
  }
  return *result;
}

// Casts and broadcasts operands to `dtype` and their common shape.
std::vector<ir::NodePtr> align(const std::vector<Operand>& xs, ScalarType dtype, const char* op, SourceLoc loc) {
  std::vector<Shape> shapes;
  for (const Operand& x : xs) shapes.push_back(x.node ? x.node->shape : Shape{});
  Shape shape = detail::broadcast_all(shapes, op, loc);
  Device device;  // the tensors' (ir builders check they share one); scalars join them there
  for (const Operand& x : xs)
    if (x.node) device = x.node->device;
  std::vector<ir::NodePtr> out;
  for (const Operand& x : xs) {
    // A scalar is a constant: build it at the right type and shape directly.
    if (!x.node)
      out.push_back(x.runtime ? detail::scalar_input(x.scalar, shape, dtype, loc, device)
                              : detail::constant(x.scalar, shape, dtype, loc, device));
    else out.push_back(detail::broadcast_to(detail::cast_to(x.node, dtype, loc), shape, loc));
  }
  return out;
}

const char* name_of(Op op) { return ir::op_name(op).data(); }

// `alpha` scales b in the common dtype first (add and sub only), as torch.add's alpha does.
Tensor binary(Op op, const Operand& a, const Operand& b, SourceLoc loc, const Scalar& alpha = 1) {
  const char* name = name_of(op);
  ScalarType t = promote({a, b});
  check(!(op == Op::Sub && t == kBool), name, loc,
        "subtraction, the `-` operator, with two bool tensors is not supported; use logical_xor instead");
  check(!(alpha.is_floating_point() && !is_floating(t)), name, loc, [&] {
    return "for integral input tensors, argument alpha must not be a floating point number (alpha " + alpha.str() +
           ")";
  });
  if (op == Op::Div && !is_floating(t)) t = get_default_dtype();  // true division
  std::vector<ir::NodePtr> xs = align({a, b}, t, name, loc);
  if (!(alpha == Scalar(1)))
    xs[1] = ir::binary(Op::Mul, xs[1], detail::scalar_input(alpha, xs[1]->shape, t, loc, xs[1]->device), loc);
  return detail::make_tensor(ir::binary(op, xs[0], xs[1], loc));
}

Tensor unary(Op op, const Tensor& x, SourceLoc loc) {
  Operand in = from_tensor(x, name_of(op), loc);
  if (ir::unary_domain(op) == ir::UnaryDomain::Rounding && !is_floating(in.node->dtype)) return x;  // exact already
  bool float_only = ir::unary_domain(op) == ir::UnaryDomain::Floating;
  check(!(op == Op::Neg && in.node->dtype == kBool), "neg", loc,
        "negation, the `-` operator, on a bool tensor is not supported; use logical_not instead");
  check(float_only || in.node->dtype != kBool, name_of(op), loc, "is not supported for bool tensors");
  ScalarType t = float_only && !is_floating(in.node->dtype) ? get_default_dtype() : in.node->dtype;
  return detail::make_tensor(ir::unary(op, detail::cast_to(in.node, t, loc), loc));
}

// A float tensor for composites that compute in floating point (integers promote to float32).
Tensor as_floating(const Tensor& x, const char* op, SourceLoc loc) {
  Operand in = from_tensor(x, op, loc);
  return is_floating(in.node->dtype) ? x : detail::make_tensor(detail::cast_to(in.node, get_default_dtype(), loc));
}

Operand T(const Tensor& t, const char* op, SourceLoc loc) { return from_tensor(t, op, loc); }
// A scalar the user passed (a learning rate, a clamp bound) changes between steps: it is a
// runtime input of the kernels that read it, so a new value compiles nothing (docs/IR.md).
Operand S(const Scalar& s) { return from_scalar(s, true); }
// A constant of Kiln's own decompositions (sigmoid's 1, gelu's coefficients): compiled in.
Operand K(const Scalar& s) { return from_scalar(s, false); }

}  // namespace

ScalarType result_type(const Tensor& a, const Tensor& b) {
  SourceLoc loc{};
  return promote({T(a, "result_type", loc), T(b, "result_type", loc)});
}

ScalarType result_type(const Tensor& a, const Scalar& b) {
  SourceLoc loc{};
  return promote({T(a, "result_type", loc), S(b)});
}

// One method and one free function per unary primitive (ir/op.h's list).
#define KILN_UNARY(op, name, domain)                                                          \
  Tensor Tensor::name(Loc loc) const { return unary(Op::op, *this, SourceLoc::from(loc)); } \
  Tensor name(const Tensor& x, Loc loc) { return unary(Op::op, x, SourceLoc::from(loc)); }
KILN_UNARY_PRIMITIVES(KILN_UNARY)
#undef KILN_UNARY

Tensor rsqrt(const Tensor& x, Loc call) {
  ir::CompositeScope composite("rsqrt");
  SourceLoc loc = SourceLoc::from(call);
  Tensor root = unary(Op::Sqrt, x, loc);
  return binary(Op::Div, K(1), T(root, "rsqrt", loc), loc);
}

Tensor sigmoid(const Tensor& x, Loc call) {
  ir::CompositeScope composite("sigmoid");
  SourceLoc loc = SourceLoc::from(call);
  Tensor e = unary(Op::Exp, unary(Op::Neg, as_floating(x, "sigmoid", loc), loc), loc);
  return binary(Op::Div, K(1), T(binary(Op::Add, K(1), T(e, "sigmoid", loc), loc), "sigmoid", loc), loc);
}

Tensor relu(const Tensor& x, Loc call) {
  ir::CompositeScope composite("relu");
  SourceLoc loc = SourceLoc::from(call);
  check(!x.defined() || x.dtype() != kBool, "relu", loc, "is not supported for bool tensors");
  // x <= 0 ? 0 : x keeps NaN and has PyTorch's gradient, 0 at 0 (maximum would split it).
  ir::NodePtr v = T(x, "relu", loc).node;
  ir::NodePtr zero = detail::constant(0, v->shape, v->dtype, loc, v->device);
  return detail::make_tensor(ir::where(ir::binary(Op::Le, v, zero, loc), zero, v, loc));
}

Tensor square(const Tensor& x, Loc call) {
  ir::CompositeScope composite("square");
  SourceLoc loc = SourceLoc::from(call);
  // torch.square is pow(x, 2), so bool squares to int64.
  Operand in = T(x, "square", loc);
  ir::NodePtr v = detail::cast_to(in.node, promote({in, K(2)}), loc);
  return detail::make_tensor(ir::binary(Op::Mul, v, v, loc));
}

Tensor gelu(const Tensor& input, const std::string& approximate, Loc call) {
  ir::CompositeScope composite("gelu");
  SourceLoc loc = SourceLoc::from(call);
  check(approximate == "none" || approximate == "tanh", "gelu", loc,
        [&] { return "approximate must be \"none\" or \"tanh\", got \"" + approximate + "\""; });
  check(!input.defined() || input.is_floating_point(), "gelu", loc,
        [&] { return "expects a floating point input, got " + detail::describe(input); });
  Tensor x = as_floating(input, "gelu", loc);
  auto t = [&](const Tensor& v) { return T(v, "gelu", loc); };
  if (approximate == "tanh") {
    // 0.5 x (1 + tanh(z)) with z = sqrt(2/pi) (x + 0.044715 x^3), computed as x / (1 + exp(-2z)),
    // the same function with one exp and no tanh (a third of the arithmetic in a kernel).
    Tensor cube = binary(Op::Mul, t(binary(Op::Mul, t(x), t(x), loc)), t(x), loc);
    Tensor poly = binary(Op::Add, t(x), t(binary(Op::Mul, t(cube), K(0.044715), loc)), loc);
    Tensor e = unary(Op::Exp, binary(Op::Mul, t(poly), K(-2 * std::sqrt(2.0 / std::numbers::pi)), loc), loc);
    return binary(Op::Div, t(x), t(binary(Op::Add, t(e), K(1), loc)), loc);
  }
  // 0.5 x (1 + erf(x / sqrt(2)))
  Tensor inner = unary(Op::Erf, binary(Op::Mul, t(x), K(1.0 / std::numbers::sqrt2), loc), loc);
  Tensor half_x = binary(Op::Mul, t(x), K(0.5), loc);
  return binary(Op::Mul, t(half_x), t(binary(Op::Add, t(inner), K(1), loc)), loc);
}

Tensor pow(const Tensor& base, const Scalar& exponent, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  Operand b = T(base, "pow", loc);
  check(!(is_integral(b.node->dtype, true) && !exponent.is_floating_point() && exponent.to_long() < 0), "pow",
        loc, [&] { return "integers to negative integer powers are not allowed (exponent " + exponent.str() + ")"; });
  return binary(Op::Pow, b, S(exponent), loc);
}

Tensor pow(const Tensor& base, const Tensor& exponent, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  return binary(Op::Pow, T(base, "pow", loc), T(exponent, "pow", loc), loc);
}

Tensor maximum(const Tensor& a, const Tensor& b, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  return binary(Op::Maximum, T(a, "maximum", loc), T(b, "maximum", loc), loc);
}

Tensor minimum(const Tensor& a, const Tensor& b, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  return binary(Op::Minimum, T(a, "minimum", loc), T(b, "minimum", loc), loc);
}

Tensor clamp(const Tensor& x, std::optional<Scalar> min, std::optional<Scalar> max, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  check(min || max, "clamp", loc, "at least one of 'min' or 'max' must not be None");
  std::vector<Operand> xs = {T(x, "clamp", loc)};
  if (min) xs.push_back(S(*min));
  if (max) xs.push_back(S(*max));
  ScalarType t = promote(xs);
  std::vector<ir::NodePtr> aligned = align(xs, t, "clamp", loc);
  // Selects rather than maximum/minimum: NaN stays NaN, min > max gives max (as PyTorch), and the
  // gradient passes in full at the bounds, as PyTorch's clamp_backward.
  ir::NodePtr out = aligned[0];
  if (min) out = ir::where(ir::binary(Op::Lt, out, aligned[1], loc), aligned[1], out, loc);
  if (max) out = ir::where(ir::binary(Op::Gt, out, aligned.back(), loc), aligned.back(), out, loc);
  return detail::make_tensor(out);
}

namespace {
Tensor where_impl(const Tensor& condition, const Operand& a, const Operand& b, SourceLoc loc) {
  Operand c = T(condition, "where", loc);
  check(c.node->dtype == kBool, "where", loc, [&] {
    return "expected a bool condition, got " + detail::describe(condition);
  });
  ScalarType t = promote({a, b});
  std::vector<Shape> shapes = {c.node->shape, a.node ? a.node->shape : Shape{}, b.node ? b.node->shape : Shape{}};
  Shape shape = detail::broadcast_all(shapes, "where", loc);
  std::vector<ir::NodePtr> values = align({a, b}, t, "where", loc);
  return detail::make_tensor(ir::where(detail::broadcast_to(c.node, shape, loc),
                                       detail::broadcast_to(values[0], shape, loc),
                                       detail::broadcast_to(values[1], shape, loc), loc));
}
}  // namespace

Tensor where(const Tensor& condition, const Tensor& a, const Tensor& b, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  return where_impl(condition, T(a, "where", loc), T(b, "where", loc), loc);
}
Tensor where(const Tensor& condition, const Scalar& a, const Tensor& b, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  return where_impl(condition, S(a), T(b, "where", loc), loc);
}
Tensor where(const Tensor& condition, const Tensor& a, const Scalar& b, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  return where_impl(condition, T(a, "where", loc), S(b), loc);
}

// Methods that forward to the free functions above.
Tensor Tensor::rsqrt(Loc loc) const { return kiln::rsqrt(*this, loc); }
Tensor Tensor::sigmoid(Loc loc) const { return kiln::sigmoid(*this, loc); }
Tensor Tensor::relu(Loc loc) const { return kiln::relu(*this, loc); }
Tensor Tensor::square(Loc loc) const { return kiln::square(*this, loc); }
Tensor Tensor::pow(const Scalar& e, Loc loc) const { return kiln::pow(*this, e, loc); }
Tensor Tensor::pow(const Tensor& e, Loc loc) const { return kiln::pow(*this, e, loc); }
Tensor Tensor::clamp(std::optional<Scalar> min, std::optional<Scalar> max, Loc loc) const {
  return kiln::clamp(*this, min, max, loc);
}

Tensor Tensor::add(const Tensor& o, const Scalar& alpha, Loc loc) const {
  SourceLoc l = SourceLoc::from(loc);
  return binary(Op::Add, T(*this, "add", l), T(o, "add", l), l, alpha);
}
Tensor Tensor::sub(const Tensor& o, const Scalar& alpha, Loc loc) const {
  SourceLoc l = SourceLoc::from(loc);
  return binary(Op::Sub, T(*this, "sub", l), T(o, "sub", l), l, alpha);
}

#define KILN_BINARY_METHODS(method, op)                                                 \
  Tensor Tensor::method(const Scalar& o, Loc call) const {                              \
    SourceLoc loc = SourceLoc::from(call);                                              \
    return binary(op, T(*this, #method, loc), S(o), loc);                          \
  }
KILN_BINARY_METHODS(add, Op::Add)
KILN_BINARY_METHODS(sub, Op::Sub)
KILN_BINARY_METHODS(mul, Op::Mul)
KILN_BINARY_METHODS(div, Op::Div)
KILN_BINARY_METHODS(eq, Op::Eq)
KILN_BINARY_METHODS(ne, Op::Ne)
KILN_BINARY_METHODS(lt, Op::Lt)
KILN_BINARY_METHODS(le, Op::Le)
KILN_BINARY_METHODS(gt, Op::Gt)
KILN_BINARY_METHODS(ge, Op::Ge)
#undef KILN_BINARY_METHODS

#define KILN_TENSOR_METHODS(method, op)                                                 \
  Tensor Tensor::method(const Tensor& o, Loc call) const {                              \
    SourceLoc loc = SourceLoc::from(call);                                              \
    return binary(op, T(*this, #method, loc), T(o, #method, loc), loc);                 \
  }
KILN_TENSOR_METHODS(mul, Op::Mul)
KILN_TENSOR_METHODS(div, Op::Div)
KILN_TENSOR_METHODS(eq, Op::Eq)
KILN_TENSOR_METHODS(ne, Op::Ne)
KILN_TENSOR_METHODS(lt, Op::Lt)
KILN_TENSOR_METHODS(le, Op::Le)
KILN_TENSOR_METHODS(gt, Op::Gt)
KILN_TENSOR_METHODS(ge, Op::Ge)
#undef KILN_TENSOR_METHODS

#define KILN_OPERATOR(sym, op)                                                      \
  Tensor operator sym(TensorArg a, TensorArg b) {                                   \
    SourceLoc loc = SourceLoc::from(a.loc);                                         \
    return binary(op, T(a.t, name_of(op), loc), T(b.t, name_of(op), loc), loc);     \
  }                                                                                 \
  Tensor operator sym(TensorArg a, ScalarArg b) {                                   \
    SourceLoc loc = SourceLoc::from(a.loc);                                         \
    return binary(op, T(a.t, name_of(op), loc), S(b.s), loc);                  \
  }                                                                                 \
  Tensor operator sym(ScalarArg a, TensorArg b) {                                   \
    SourceLoc loc = SourceLoc::from(a.loc);                                         \
    return binary(op, S(a.s), T(b.t, name_of(op), loc), loc);                  \
  }
KILN_OPERATOR(+, Op::Add)
KILN_OPERATOR(-, Op::Sub)
KILN_OPERATOR(*, Op::Mul)
KILN_OPERATOR(/, Op::Div)
KILN_OPERATOR(==, Op::Eq)
KILN_OPERATOR(!=, Op::Ne)
KILN_OPERATOR(<, Op::Lt)
KILN_OPERATOR(<=, Op::Le)
KILN_OPERATOR(>, Op::Gt)
KILN_OPERATOR(>=, Op::Ge)
#undef KILN_OPERATOR

Tensor operator-(TensorArg x) { return unary(Op::Neg, x.t, SourceLoc::from(x.loc)); }

// Logical ops, and the operators & | ~ on bool tensors (on bool, mul is `and` and add is `or`).
namespace {
Tensor as_bool(const Tensor& x, const char* op, SourceLoc loc) {
  return detail::make_tensor(detail::cast_to(from_tensor(x, op, loc).node, kBool, loc));
}
Tensor bool_only(const Tensor& x, const char* op, SourceLoc loc) {
  check(from_tensor(x, op, loc).node->dtype == kBool, op, loc, [&] {
    return "is only supported on bool tensors in Kiln (use logical_and/logical_or), got " + detail::describe(x);
  });
  return x;
}
}  // namespace

Tensor logical_and(const Tensor& a, const Tensor& b, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  return binary(Op::Mul, T(as_bool(a, "logical_and", loc), "logical_and", loc), T(as_bool(b, "logical_and", loc), "logical_and", loc), loc);
}
Tensor logical_or(const Tensor& a, const Tensor& b, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  return binary(Op::Add, T(as_bool(a, "logical_or", loc), "logical_or", loc), T(as_bool(b, "logical_or", loc), "logical_or", loc), loc);
}
Tensor logical_not(const Tensor& x, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  return binary(Op::Eq, T(as_bool(x, "logical_not", loc), "logical_not", loc), K(false), loc);
}
Tensor operator&(TensorArg a, TensorArg b) {
  SourceLoc loc = SourceLoc::from(a.loc);
  return logical_and(bool_only(a.t, "bitwise_and", loc), bool_only(b.t, "bitwise_and", loc), a.loc);
}
Tensor operator|(TensorArg a, TensorArg b) {
  SourceLoc loc = SourceLoc::from(a.loc);
  return logical_or(bool_only(a.t, "bitwise_or", loc), bool_only(b.t, "bitwise_or", loc), a.loc);
}
Tensor operator~(TensorArg x) { return logical_not(bool_only(x.t, "bitwise_not", SourceLoc::from(x.loc)), x.loc); }

// Free-function forms of the arithmetic methods.
Tensor add(const Tensor& a, const Tensor& b, const Scalar& alpha, Loc loc) { return a.add(b, alpha, loc); }
Tensor add(const Tensor& a, const Scalar& b, Loc loc) { return a.add(b, loc); }
Tensor sub(const Tensor& a, const Tensor& b, const Scalar& alpha, Loc loc) { return a.sub(b, alpha, loc); }
Tensor sub(const Tensor& a, const Scalar& b, Loc loc) { return a.sub(b, loc); }
Tensor mul(const Tensor& a, const Tensor& b, Loc loc) { return a.mul(b, loc); }
Tensor mul(const Tensor& a, const Scalar& b, Loc loc) { return a.mul(b, loc); }
Tensor div(const Tensor& a, const Tensor& b, Loc loc) { return a.div(b, loc); }
Tensor div(const Tensor& a, const Scalar& b, Loc loc) { return a.div(b, loc); }

}  // namespace kiln
