// A node of the recorded graph. Nodes are immutable once built, except that evaluation turns a
// node into a Buffer holding its value (dropping its inputs), so every graph that shares the node
// reuses the result and the graph behind it is freed.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

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
  std::shared_ptr<Storage> storage;  // set for Buffer: contiguous, row-major

  int64_t numel() const { return kiln::numel(shape); }
  bool is_buffer() const { return op == Op::Buffer; }
  template <typename T> T* data() const { return static_cast<T*>(storage->data()); }

  // Turns this node into a Buffer holding `value`, releasing its inputs.
  void materialize(std::shared_ptr<Storage> value);

  // Nodes now alive: lets tests check that graphs are freed.
  static int64_t live_count();
};

}  // namespace kiln::ir
