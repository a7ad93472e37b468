// What a Tensor handle points to: the node that computes its current value, and, for a view,
// the base tensor it views and the steps that derive it, so that in-place ops on either side
// behave as in PyTorch.
#pragma once

#include <memory>
#include <vector>

#include "kiln/tensor.h"
#include "ir/node.h"

namespace kiln::detail {

// One view operation from a base toward a view.
struct ViewStep {
  enum Kind { Reshape, Permute, Expand, Slice } kind;
  Shape shape;                  // result shape
  std::vector<int64_t> perm;    // Permute
  std::vector<int64_t> starts;  // Slice
  std::vector<int64_t> stops;   // Slice
  std::vector<int64_t> steps;   // Slice
  SourceLoc loc;
};

// Where a view's elements lie in its base's (contiguous) memory, as PyTorch's strides.
struct Layout {
  Shape sizes;
  Shape strides;
  int64_t offset = 0;
};

struct TensorImpl : std::enable_shared_from_this<TensorImpl> {
  explicit TensorImpl(ir::NodePtr node) : node_(std::move(node)) {}

  // The node for the current value: a view re-derives it when its base has changed.
  const ir::NodePtr& node();
  // Rebinds the tensor to `value` (same shape and dtype); a view writes it through to its base.
  // In grad mode, a leaf that requires grad (or a view of one) cannot be written, as in PyTorch:
  // kiln::Error naming `op`.
  void assign(ir::NodePtr value, const char* op, SourceLoc loc);
  // A root's new value (set_node, and a version bump that makes its views re-derive). Memory the
  // user holds is written at the call (write_exposed); otherwise the root's new value is pending
  // state, computed with this thread's next evaluation (note_pending_update).
  void replace(ir::NodePtr value);
  // A root whose value is a buffer whose address the user holds (ir::Storage::exposed).
  bool holds_exposed_memory() const;
  // When other graphs or tensors still read this root's buffer node, moves that node to a copy
  // of its memory and gives the root a new node over the memory itself: those readers keep the
  // values they were recorded with (LibTorch computed them eagerly), and the address the user
  // holds stays this tensor's. Before a write to the memory.
  void keep_readers_values();
  // An in-place write to exposed memory: computes `value` now and copies it into the memory.
  void write_exposed(ir::NodePtr value);
  // Sets node_; a variable gets a Variable node of its own for the value.
  void set_node(ir::NodePtr value);
  // Makes the tensor a variable (a leaf that requires grad) or a plain leaf.
  void set_requires_grad(bool requires_grad);
  // Layout in the memory of the root tensor (contiguous for a root).
  Layout layout() const;

  ir::NodePtr node_;
  uint64_t version = 0;  // bumped by every in-place change

  // Autograd (docs/AUTOGRAD.md). requires_grad and is_leaf follow from node_->grad.
  bool is_variable = false;  // a leaf that requires grad: its node is a Variable
  bool retains_grad = false;
  bool records_grad = true;  // a view: grad mode when it was made (false for detach)
  Tensor grad;               // accumulated by backward

  bool pending_update = false;       // listed for the next evaluation (note_pending_update)

  std::shared_ptr<TensorImpl> base;  // the root tensor viewed; null for a root
  std::vector<ViewStep> view_steps;  // from base to this
  Layout view_layout;                // valid when base is set
  uint64_t base_version = 0;         // base->version that node_ was derived from

  // A root's live views, so handing out its memory can drop their cached nodes, which would
  // otherwise count as readers of the old value.
  std::vector<std::weak_ptr<TensorImpl>> views;
  void add_view(const std::shared_ptr<TensorImpl>& view);
  void forget_view_nodes();
};

// Roots changed in place since this thread's last evaluation, such as an optimizer's velocity
// that nothing reads until the next step: evaluation computes their values too, so a pending
// chain never spans more than one evaluation and a training loop's graph stays one step long
// (as PyTorch/XLA's mark_step syncs live tensors). Per thread: a thread evaluates only the state
// it changed.
void note_pending_update(TensorImpl& root);
std::vector<ir::NodePtr> take_pending_updates();

// A buffer node over `memory` (holding `value`'s bytes) that autograd sees as `value` itself: a
// Derived value keeps its gradient rule through it.
ir::NodePtr same_value_at(const ir::NodePtr& value, std::shared_ptr<ir::Storage> memory);

// `x`, or an alias of it that gradients do not flow through.
ir::NodePtr cut_gradient(ir::NodePtr x, SourceLoc loc);

// Applies one view step to a node.
ir::NodePtr apply_view_step(const ViewStep& step, ir::NodePtr x);

inline TensorImpl& impl(const Tensor& t) { return *t.impl(); }
inline const ir::NodePtr& node_of(const Tensor& t) { return t.impl()->node(); }

// Wraps a node in a new root tensor on the CPU.
Tensor make_tensor(ir::NodePtr node);

}  // namespace kiln::detail
