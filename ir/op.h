// The primitive ops every Tensor operation lowers to. Composite ops (softmax, sigmoid, mean, ...)
// are decomposed by the front end, so passes and code generators see these alone.
#pragma once

#include <cstdint>
#include <string_view>

namespace kiln::ir {

enum class OpKind : uint8_t { Source, Unary, Binary, Compare, Select, Cast, Reduce, Movement, Contraction, Transfer };

// X(enumerator, textual name, kind)
#define KILN_PRIMITIVES(X)              \
  X(Buffer, "buffer", Source)           \
  X(Full, "full", Source)               \
  X(Iota, "iota", Source)               \
  X(Random, "random", Source)           \
  X(Neg, "neg", Unary)                  \
  X(Abs, "abs", Unary)                  \
  X(Exp, "exp", Unary)                  \
  X(Log, "log", Unary)                  \
  X(Sqrt, "sqrt", Unary)                \
  X(Tanh, "tanh", Unary)                \
  X(Erf, "erf", Unary)                  \
  X(Sin, "sin", Unary)                  \
  X(Cos, "cos", Unary)                  \
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
  X(ArgMax, "argmax", Reduce)           \
  X(ArgMin, "argmin", Reduce)           \
  X(Reshape, "reshape", Movement)       \
  X(Permute, "permute", Movement)       \
  X(Expand, "expand", Movement)         \
  X(Slice, "slice", Movement)           \
  X(Pad, "pad", Movement)               \
  X(Concat, "concat", Movement)         \
  X(MatMul, "matmul", Contraction)       \
  X(Transfer, "transfer", Transfer)

enum class Op : uint8_t {
#define KILN_OP_ENUM(name, text, kind) name,
  KILN_PRIMITIVES(KILN_OP_ENUM)
#undef KILN_OP_ENUM
};

std::string_view op_name(Op op);
OpKind op_kind(Op op);

enum class Distribution : uint8_t { Uniform, Normal };

}  // namespace kiln::ir
