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

// Per-op attributes; each op uses the fields its comment in ops.h names and leaves the rest empty.
struct Attrs {
  std::vector<int64_t> axes;      // reduce: axes; permute: permutation; concat: {axis}
  std::vector<int64_t> low;       // slice: starts; pad: padding before
  std::vector<int64_t> high;      // pad: padding after
  std::vector<int64_t> step;      // slice: steps; pad: interior padding
  Scalar value;                   // full: the value; iota: start; pad: the fill value
  Scalar delta;                   // iota: step
  Distribution distribution = Distribution::Uniform;  // random
  uint64_t seed = 0;              // random
  uint64_t offset = 0;            // random: the generator's counter at the call
  bool operator==(const Attrs&) const = default;
};

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

  int64_t numel() const { return kiln::numel(shape); }
  bool is_buffer() const { return op == Op::Buffer; }
  template <typename T> T* data() const { return static_cast<T*>(storage->data()); }

  // The node autodiff differentiates through: the recipe once evaluated, else the node itself.
  const Node& recorded() const { return recipe ? *recipe : *this; }

  // Turns this node into a Buffer holding `value`, releasing its inputs (to the recipe, for a
  // Derived node).
  void materialize(std::shared_ptr<Storage> value);

  // The serial the next node will get.
  static uint64_t next_serial();
  // Nodes now alive: lets tests check that graphs are freed.
  static int64_t live_count();
};

}  // namespace kiln::ir
