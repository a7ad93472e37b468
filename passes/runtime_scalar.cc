// Runtime scalars in simplification: a scalar the user passes is a one-element buffer, so a new
// value between steps compiles nothing. Simplification looks at such a value only through
// runtime_scalar_class, which the schedule key records (simplify.h).
#include <cmath>
#include <optional>

#include "passes/simplify.h"
#include "passes/simplify_rules.h"

namespace kiln::passes {

using ir::Node;
using ir::NodePtr;
using ir::Op;

namespace {

std::optional<double> one_element(const Node& buffer) {
  if (!buffer.is_buffer() || buffer.numel() != 1 || !buffer.storage) return std::nullopt;
  return dispatch_dtype(buffer.dtype, [&]<typename T>() { return static_cast<double>(buffer.data<T>()[0]); });
}

// The constant value of a full or of a runtime scalar, as a double.
std::optional<double> constant_of(const Node& n) {
  if (const Scalar* c = full_value(n)) return c->to_double();
  const Node* x = &n;
  while (x->op == Op::Reshape || x->op == Op::Expand) x = x->inputs[0].get();
  return one_element(*x);
}

}  // namespace

const NodePtr* runtime_scalar(const NodePtr& n) {
  const NodePtr* x = &n;
  while ((*x)->op == Op::Reshape || (*x)->op == Op::Expand) x = &(*x)->inputs[0];
  return (*x)->is_buffer() && (*x)->numel() == 1 ? x : nullptr;
}

int runtime_scalar_class(const Node& buffer) {
  std::optional<double> v = one_element(buffer);
  if (!v) return 0;
  if (*v == 1) return 1;
  if (*v == 0) return std::signbit(*v) ? 3 : 2;
  return 0;
}

bool is_constant(const Node& n, double v) {
  std::optional<double> c = constant_of(n);
  return c && *c == v;
}

bool is_negative_zero_constant(const Node& n) {
  if (!is_floating(n.dtype)) return false;
  std::optional<double> c = constant_of(n);
  return c && *c == 0 && std::signbit(*c);
}

}  // namespace kiln::passes
