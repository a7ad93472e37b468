#include "ir/node.h"

#include <atomic>

namespace kiln::ir {

namespace {
std::atomic<int64_t> g_live_nodes{0};

// Releases inputs with an explicit stack: destroying a long chain recursively would overflow.
void release_inputs(std::vector<NodePtr>& inputs) {
  std::vector<NodePtr> stack = std::move(inputs);
  inputs.clear();
  while (!stack.empty()) {
    NodePtr n = std::move(stack.back());
    stack.pop_back();
    if (n.use_count() == 1) {
      for (NodePtr& in : n->inputs) stack.push_back(std::move(in));
      n->inputs.clear();
    }
  }
}
}  // namespace

Node::Node(Op op, ScalarType dtype, Shape shape, std::vector<NodePtr> inputs, Attrs attrs, SourceLoc loc)
    : op(op), dtype(dtype), shape(std::move(shape)), inputs(std::move(inputs)), attrs(std::move(attrs)), loc(loc) {
  ++g_live_nodes;
}

Node::~Node() {
  release_inputs(inputs);
  --g_live_nodes;
}

void Node::materialize(std::shared_ptr<Storage> value) {
  op = Op::Buffer;
  attrs = Attrs{};
  storage = std::move(value);
  release_inputs(inputs);
}

int64_t Node::live_count() { return g_live_nodes.load(); }

}  // namespace kiln::ir
