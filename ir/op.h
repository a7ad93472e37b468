// The primitive ops every Tensor operation lowers to. Composite ops (softmax, sigmoid, mean, ...)
// are decomposed by the front end, so passes and code generators see these alone.
#pragma once

#include <cstdint>
#include <string_view>

namespace kiln::ir {

enum class OpKind : uint8_t { Source, Unary, Binary, Compare, Select, Cast, Reduce, Movement, Contraction, Transfer };

// Which dtypes an elementwise unary op takes: AnyNumber keeps integers integral (bool is
// rejected); Floating promotes integers and bool to float32; Rounding is the identity on integers
// and bool (the front end records nothing for them).
enum class UnaryDomain : uint8_t { AnyNumber, Floating, Rounding };

// The elementwise unary primitives, X(enumerator, name, domain). `name` is the op's text and also
// the Tensor method and free function of the public API (kiln/tensor.h and kiln/functions.h
// declare them from this list, frontend/elementwise.cc defines them), so a new unary op is one
// line here plus its semantics (ir/semantics.h), gradient (passes/vjp.cc) and code (codegen/cpu/ops.cc).
#define KILN_UNARY_PRIMITIVES(X) \
  X(Neg, neg, AnyNumber)         \
  X(Abs, abs, AnyNumber)         \
  X(Exp, exp, Floating)          \
  X(Log, log, Floating)          \
  X(Sqrt, sqrt, Floating)        \
  X(Tanh, tanh, Floating)        \
  X(Erf, erf, Floating)          \
  X(Sin, sin, Floating)          \
  X(Cos, cos, Floating)          \
  X(Floor, floor, Rounding)      \
  X(Ceil, ceil, Rounding)        \
  X(Round, round, Rounding)      \
  X(Trunc, trunc, Rounding)

// Every other primitive, X(enumerator, textual name, kind).
#define KILN_SOURCE_PRIMITIVES(X) \
  X(Buffer, "buffer", Source)     \
  X(Full, "full", Source)         \
  X(Iota, "iota", Source)         \
  X(Random, "random", Source)

#define KILN_OTHER_PRIMITIVES(X)        \
  X(Add, "add", Binary)                 \
  X(Sub, "sub", Binary)                 \
  X(Mul, "mul", Binary)                 \
  X(Div, "div", Binary)                 \
  X(Pow, "pow", Binary)                 \
  X(Maximum, "maximum", Binary)         \
  X(Minimum, "minimum", Binary)         \
  X(Eq, "eq", Compare)                  \
  X(Ne, "ne", Compare)                  \
  X(Lt, "lt", Compare)                  \
  X(Le, "le", Compare)                  \
  X(Gt, "gt", Compare)                  \
  X(Ge, "ge", Compare)                  \
  X(Where, "where", Select)             \
  X(Cast, "cast", Cast)                 \
  X(ReduceSum, "reduce_sum", Reduce)    \
  X(ReduceMax, "reduce_max", Reduce)    \
  X(ReduceMin, "reduce_min", Reduce)    \
  X(ReduceProd, "reduce_prod", Reduce)  \
  X(ArgMax, "argmax", Reduce)           \
  X(ArgMin, "argmin", Reduce)           \
  X(Reshape, "reshape", Movement)       \
  X(Permute, "permute", Movement)       \
  X(Expand, "expand", Movement)         \
  X(Slice, "slice", Movement)           \
  X(Pad, "pad", Movement)               \
  X(Concat, "concat", Movement)         \
  X(MatMul, "matmul", Contraction)      \
  X(Transfer, "transfer", Transfer)

enum class Op : uint8_t {
#define KILN_OP_ENUM(name, ...) name,
  KILN_SOURCE_PRIMITIVES(KILN_OP_ENUM)
  KILN_UNARY_PRIMITIVES(KILN_OP_ENUM)
  KILN_OTHER_PRIMITIVES(KILN_OP_ENUM)
#undef KILN_OP_ENUM
};

std::string_view op_name(Op op);
OpKind op_kind(Op op);
UnaryDomain unary_domain(Op op);  // for Unary ops

// argmax/argmin: reductions that yield the position of the extreme (int64) rather than a value.
inline bool is_arg_reduction(Op op) { return op == Op::ArgMax || op == Op::ArgMin; }

enum class Distribution : uint8_t { Uniform, Normal };

}  // namespace kiln::ir
