// A node of the recorded graph. Nodes are immutable once built, except that evaluation turns a
// node into a Buffer holding its value (dropping its inputs), so every graph that shares the node
// reuses the result and the graph behind it is freed. Autograd state (docs/AUTOGRAD.md) is the
// other exception: a Derived node keeps its recipe through evaluation until backward releases it.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "ir/device.h"
#include "ir/dtype.h"
#include "ir/error.h"
#include "ir/op.h"
#include "ir/scalar.h"
#include "ir/shape.h"
#include "ir/storage.h"

namespace kiln::ir {

struct Node;
using NodePtr = std::shared_ptr<Node>;

// Per-op attributes. X(type, name, used): the one list of fields, from which the struct, equality,
// for_each_attr (hashing, CSE's equality, schedule signatures) and the textual IR's attributes
// (for_each_used_attr: `name=value` for each field `used`, an expression in `op`) are made.
#define KILN_ATTR_FIELDS(X)                                                                                 \
  X(std::vector<int64_t>, axes, op_kind(op) == OpKind::Reduce || op == Op::Permute || op == Op::Concat)  \
  /* reduce: the reduced axes (one for argmax/argmin); permute: the permutation; concat: {axis} */         \
  X(std::vector<int64_t>, low, op == Op::Slice || op == Op::Pad) /* slice: starts; pad: padding before */ \
  X(std::vector<int64_t>, high, op == Op::Pad)                   /* pad: padding after */                 \
  X(std::vector<int64_t>, step, op == Op::Slice)                 /* slice: steps */                       \
  X(std::vector<int64_t>, interior, op == Op::Pad)               /* pad: padding between neighbours */    \
  X(Scalar, value, op == Op::Full || op == Op::Iota || op == Op::Pad) /* full; iota: start; pad: fill */   \
  X(Scalar, delta, op == Op::Iota)                               /* iota: step */                         \
  X(Distribution, distribution, op == Op::Random)                                                          \
  X(uint64_t, seed, op == Op::Random)                                                                      \
  X(uint64_t, offset, op == Op::Random) /* random: the generator's counter at the call */

struct Attrs {
#define KILN_ATTR_MEMBER(type, name, used) type name{};
  KILN_ATTR_FIELDS(KILN_ATTR_MEMBER)
#undef KILN_ATTR_MEMBER
  bool operator==(const Attrs&) const = default;
};

// A visitor from lambdas, one per field type.
template <typename... Fs>
struct overloaded : Fs... {
  using Fs::operator()...;
};
template <typename... Fs>
overloaded(Fs...) -> overloaded<Fs...>;

// Calls f(name, field) for every field of `a`, in the list's order.
template <typename F>
void for_each_attr(const Attrs& a, F&& f) {
#define KILN_ATTR_VISIT(type, name, used) f(#name, a.name);
  KILN_ATTR_FIELDS(KILN_ATTR_VISIT)
#undef KILN_ATTR_VISIT
}

// Calls f(name, field) for the fields op `op` uses, in the list's order.
template <typename F>
void for_each_used_attr(Op op, const Attrs& a, F&& f) {
#define KILN_ATTR_VISIT_USED(type, name, used) \
  if (used) f(#name, a.name);
  KILN_ATTR_FIELDS(KILN_ATTR_VISIT_USED)
#undef KILN_ATTR_VISIT_USED
}

// Whether `same(name, x, y)` holds for every pair of fields of `a` and `b`.
template <typename F>
bool all_attrs(const Attrs& a, const Attrs& b, F&& same) {
#define KILN_ATTR_SAME(type, name, used) &&same(#name, a.name, b.name)
  return true KILN_ATTR_FIELDS(KILN_ATTR_SAME);
#undef KILN_ATTR_SAME
}

// How a node takes part in differentiation. A Variable is a leaf whose gradient is wanted (a
// tensor with requires_grad); a Derived node was built, while grad mode was on, from a Variable
// or Derived input and has a floating dtype. Everything else is a constant to autodiff.
enum class Grad : uint8_t { None, Variable, Derived };

// A gradient rule written by the user (autograd::Function): its output nodes take their
// gradients from backward() instead of from their ops' rules.
struct CustomGradient {
  virtual ~CustomGradient() = default;
  // Gradients for `inputs`, given one per entry of `outputs` (null where an output got none);
  // null where an input gets none.
  virtual std::vector<NodePtr> backward(const std::vector<NodePtr>& output_grads) const = 0;
  std::vector<NodePtr> inputs;        // the differentiable inputs
  std::vector<const Node*> outputs;   // not owned: each output owns this rule
};

struct Node {
  Node(Op op, ScalarType dtype, Shape shape, std::vector<NodePtr> inputs, Attrs attrs, SourceLoc loc);
  Node(const Node&) = delete;
  Node& operator=(const Node&) = delete;
  ~Node();

  Op op;
  ScalarType dtype;
  Shape shape;
  std::vector<NodePtr> inputs;
  Attrs attrs;
  SourceLoc loc;
  Device device;                     // an op's is its inputs' (the builders check they agree)
  std::shared_ptr<Storage> storage;  // set for Buffer: contiguous, row-major
  uint64_t serial;                   // creation order: nodes built later have larger serials

  Grad grad = Grad::None;            // set at construction from the inputs and grad mode
  // A Derived node that evaluation turned into a Buffer: the op, inputs and attributes it had,
  // which backward still differentiates through (null otherwise).
  NodePtr recipe;
  std::shared_ptr<const CustomGradient> custom_gradient;
  bool grad_released = false;        // a backward without retain_graph went through this node
  // The value reads memory the user owns (a from_blob buffer, or a graph over one): ops that own
  // their result in LibTorch (clone) must copy it before the user can change or free it.
  bool reads_borrowed = false;
  // A one-element buffer holding a scalar the user passed (x * lr): read as one element at any
  // shape, never a batch of one. Kernels take it as an input, so a new value compiles nothing.
  bool runtime_scalar = false;
  // The composite op this node is part of (softmax, mean, ...), or null (ir/composite.h).
  const char* composite = nullptr;

  int64_t numel() const { return kiln::numel(shape); }
  bool is_buffer() const { return op == Op::Buffer; }
  template <typename T> T* data() const { return static_cast<T*>(storage->data()); }

  // The node autodiff differentiates through: the recipe once evaluated, else the node itself.
  const Node& recorded() const { return recipe ? *recipe : *this; }

  // Turns this node into a Buffer holding `value`, releasing its inputs (to the recipe, for a
  // Derived node).
  void materialize(std::shared_ptr<Storage> value);

  // The same op (attributes, device, location, composite) over other inputs, with `shape`: how
  // passes rebuild a node whose inputs they replaced. The device is copied, not derived from the
  // inputs: a transfer's device is not its input's.
  std::shared_ptr<Node> rebuilt(std::vector<NodePtr> new_inputs, Shape new_shape) const;
  std::shared_ptr<Node> rebuilt(std::vector<NodePtr> new_inputs) const { return rebuilt(std::move(new_inputs), shape); }

  // The serial the next node will get.
  static uint64_t next_serial();
  // Nodes now alive: lets tests check that graphs are freed.
  static int64_t live_count();
};

}  // namespace kiln::ir
