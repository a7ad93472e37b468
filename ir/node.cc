#include "ir/node.h"

#include <algorithm>
#include <atomic>

#include "ir/composite.h"
#include "ir/grad_mode.h"

namespace kiln::ir {

namespace {
std::atomic<int64_t> g_live_nodes{0};
std::atomic<uint64_t> g_serial{0};

// Moves what `n` owns of the graph (inputs, and the recipe, whose inputs they were) onto `stack`.
void take_edges(Node& n, std::vector<NodePtr>& stack) {
  for (NodePtr& in : n.inputs) stack.push_back(std::move(in));
  n.inputs.clear();
  if (n.recipe) stack.push_back(std::move(n.recipe));
}

// Releases with an explicit stack: destroying a long chain recursively would overflow.
void release_edges(Node& node) {
  std::vector<NodePtr> stack;
  take_edges(node, stack);
  while (!stack.empty()) {
    NodePtr n = std::move(stack.back());
    stack.pop_back();
    if (n.use_count() == 1) take_edges(*n, stack);
  }
}
}  // namespace

Node::Node(Op op, ScalarType dtype, Shape shape, std::vector<NodePtr> inputs, Attrs attrs, SourceLoc loc)
    : op(op),
      dtype(dtype),
      shape(std::move(shape)),
      inputs(std::move(inputs)),
      attrs(std::move(attrs)),
      loc(loc),
      device(this->inputs.empty() ? Device() : this->inputs[0]->device),
      serial(g_serial++),
      composite(current_composite()) {
  ++g_live_nodes;
  if (grad_mode_enabled() && is_floating(dtype) &&
      std::any_of(this->inputs.begin(), this->inputs.end(), [](const NodePtr& in) { return in->grad != Grad::None; }))
    grad = Grad::Derived;
  reads_borrowed =
      std::any_of(this->inputs.begin(), this->inputs.end(), [](const NodePtr& in) { return in->reads_borrowed; });
}

std::shared_ptr<Node> Node::rebuilt(std::vector<NodePtr> new_inputs, Shape new_shape) const {
  auto copy = std::make_shared<Node>(op, dtype, std::move(new_shape), std::move(new_inputs), attrs, loc);
  copy->device = device;
  copy->composite = composite;
  return copy;
}

Node::~Node() {
  release_edges(*this);
  --g_live_nodes;
}

void Node::materialize(std::shared_ptr<Storage> value) {
  if (grad == Grad::Derived && !recipe && !grad_released) {
    recipe = std::make_shared<Node>(op, dtype, shape, std::move(inputs), std::move(attrs), loc);
    recipe->device = device;
    recipe->grad = Grad::Derived;
    recipe->composite = composite;
  }
  op = Op::Buffer;
  attrs = Attrs{};
  storage = std::move(value);
  reads_borrowed = storage->borrowed();
  NodePtr kept = std::move(recipe);
  release_edges(*this);
  recipe = std::move(kept);
}

uint64_t Node::next_serial() { return g_serial.load(); }

int64_t Node::live_count() { return g_live_nodes.load(); }

}  // namespace kiln::ir
