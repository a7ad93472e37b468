#include "frontend/tensor_impl.h"

#include <cstring>

#include "frontend/autograd_registry.h"
#include "frontend/evaluate.h"
#include "runtime/dump.h"
#include "frontend/recording.h"
#include "ir/external_check.h"
#include "ir/grad_mode.h"
#include "ir/ops.h"

namespace kiln::detail {

namespace {

// The value of `before` after the view `step` of it has been overwritten with `value`.
ir::NodePtr write_through(const ViewStep& step, const ir::NodePtr& before, ir::NodePtr value) {
  switch (step.kind) {
    case ViewStep::Reshape: return ir::reshape(std::move(value), before->shape, step.loc);
    case ViewStep::Permute: return ir::permute(std::move(value), ir::inverse_permutation(step.perm), step.loc);
    case ViewStep::Slice: {
      // Scatter: put the slice back in place and select it where its elements lie.
      ir::NodePtr inside = ir::unslice(constant(true, value->shape, kBool, step.loc, value->device), before->shape, step.starts,
                                       step.steps, false, step.loc);
      ir::NodePtr scattered = ir::unslice(std::move(value), before->shape, step.starts, step.steps, 0, step.loc);
      return ir::where(std::move(inside), std::move(scattered), before, step.loc);
    }
    case ViewStep::Expand: break;
  }
  throw Error("in-place", "cannot write through an expanded view", step.loc);
}

}  // namespace

namespace {

// Rows [a, b) of an evaluated tensor (a slice along the first axis only) are a window of its
// memory, as a LibTorch view shares storage: a buffer, so iterating over batches sliced from one
// tensor records graphs of one structure (the offset is not part of it) and compiles nothing new.
// Other slices stay slices even where contiguous (columns of a single row): a batch of one must
// record the graph any other batch size records. A tensor in the gradient graph keeps its slice
// node, through which its gradient flows.
ir::NodePtr window(const ViewStep& step, const ir::NodePtr& x) {
  if (!x->is_buffer() || x->grad != ir::Grad::None || step.shape.empty() || numel(step.shape) == 0) return nullptr;
  if (step.steps[0] != 1 && step.shape[0] > 1) return nullptr;
  for (size_t k = 1; k < step.shape.size(); ++k)
    if (step.starts[k] != 0 || step.shape[k] != x->shape[k]) return nullptr;
  int64_t offset = step.starts[0] * contiguous_strides(x->shape)[0];
  size_t size = element_size(x->dtype);
  auto memory = ir::Storage::window(x->storage, static_cast<size_t>(offset) * size, numel(step.shape) * size);
  return ir::buffer(std::move(memory), step.shape, x->dtype, step.loc, x->device);
}

}  // namespace

ir::NodePtr apply_view_step(const ViewStep& step, ir::NodePtr x) {
  switch (step.kind) {
    case ViewStep::Reshape: return ir::reshape(std::move(x), step.shape, step.loc);
    case ViewStep::Permute: return ir::permute(std::move(x), step.perm, step.loc);
    case ViewStep::Expand: return broadcast_to(std::move(x), step.shape, step.loc);
    case ViewStep::Slice:
      if (ir::NodePtr w = window(step, x)) return w;
      return ir::slice(std::move(x), step.starts, step.stops, step.steps, step.loc);
  }
  return x;
}

ir::NodePtr cut_gradient(ir::NodePtr x, SourceLoc loc) {
  if (x->grad == ir::Grad::None) return x;
  ir::GradModeGuard no_grad(false);
  return ir::alias(std::move(x), loc);
}

const ir::NodePtr& TensorImpl::node() {
  if (base && base_version != base->version) {
    ir::NodePtr n = base->node();
    {
      ir::GradModeGuard mode(records_grad);
      for (const ViewStep& s : view_steps) n = apply_view_step(s, std::move(n));
    }
    SourceLoc loc = n->loc;
    set_node(records_grad ? std::move(n) : cut_gradient(std::move(n), loc));
    base_version = base->version;
  }
  return node_;
}

void TensorImpl::set_node(ir::NodePtr value) {
  if (is_variable && !(value->grad == ir::Grad::Variable && grad_sink(value.get()).get() == this)) {
    // A node only this call holds becomes the Variable; one shared with other tensors or graphs
    // gets an alias, so they keep their own gradient identity.
    if (value.use_count() > 1 || value->grad != ir::Grad::None) {
      ir::GradModeGuard no_grad(false);
      SourceLoc loc = value->loc;
      value = ir::alias(std::move(value), loc);
    }
    value->grad = ir::Grad::Variable;
    register_grad_sink(value.get(), shared_from_this());
  }
  if (retains_grad) register_grad_sink(value.get(), shared_from_this());
  node_ = std::move(value);
}

void TensorImpl::set_requires_grad(bool requires_grad) {
  is_variable = requires_grad;
  node();  // a view re-derives first
  ir::NodePtr current = std::move(node_);
  SourceLoc loc = current->loc;
  set_node(requires_grad ? std::move(current) : cut_gradient(std::move(current), loc));
  ++version;  // views re-derive from the new node
}

void TensorImpl::assign(ir::NodePtr value, const char* op, SourceLoc loc) {
  // A detached view writes its base untracked, as PyTorch's x.detach().add_(1) and x.data.
  if (ir::grad_mode_enabled() && records_grad) {
    check(!is_variable, op, loc,
          "a leaf tensor that requires grad is being used in an in-place operation; wrap it in NoGradGuard or "
          "detach() it");
    check(!(base && base->is_variable), op, loc,
          "a view of a leaf tensor that requires grad is being used in an in-place operation");
  }
  // A factory's value (zeros_like for an optimizer's state) is given memory before its first
  // in-place update, as LibTorch allocates it: the first step's update then reads a buffer like
  // every later step's, so a training loop's graphs take one structure from its second step on.
  // (Only this value: other pending state waits for the evaluation the user asks for. A value a
  // zero_() or fill_() set stays lazy: that is the same structure at every step.)
  TensorImpl& root = base ? *base : *this;
  if (root.version == 0 && root.node_ && ir::op_kind(root.node_->op) == ir::OpKind::Source &&
      !root.node_->is_buffer()) {
    evaluate({root.node_}, /*with_pending_updates=*/false);
    if (base) node();
  }
  if (!base) return replace(std::move(value));
  for (const ViewStep& s : view_steps)
    check(s.kind != ViewStep::Expand, op, loc,
          "unsupported operation: more than one element of the written-to tensor refers to a single memory "
          "location (the tensor is an expanded view); clone() it first");
  std::vector<ir::NodePtr> chain = {base->node()};
  for (const ViewStep& s : view_steps) chain.push_back(apply_view_step(s, chain.back()));
  ir::NodePtr whole = value;
  for (size_t i = view_steps.size(); i-- > 0;) whole = write_through(view_steps[i], chain[i], std::move(whole));
  base->replace(std::move(whole));
  set_node(std::move(value));
  base_version = base->version;
}

void TensorImpl::replace(ir::NodePtr value) {
  if (holds_exposed_memory()) return write_exposed(std::move(value));
  set_node(std::move(value));
  ++version;
  note_pending_update(*this);
}

bool TensorImpl::holds_exposed_memory() const {
  return !base && node_ && node_->is_buffer() && node_->storage && node_->storage->exposed();
}

void TensorImpl::keep_readers_values() {
  forget_view_nodes();  // cached view nodes are not readers: views re-derive after the write
  ir::forget_external_reads({node_->storage});  // after this no pending graph reads the memory
  if (node_.use_count() == 1) return;
  ir::NodePtr old = node_;
  std::shared_ptr<ir::Storage> memory = old->storage;
  old->storage = memory->copy();  // the same value, elsewhere: a node's value never changes
  set_node(same_value_at(old, std::move(memory)));
}

void TensorImpl::write_exposed(ir::NodePtr value) {
  runtime::EvaluationCause why("an in-place write to memory the user holds at " + value->loc.str());
  evaluate({value});  // reads the old value; nothing has changed if it throws
  keep_readers_values();
  const std::shared_ptr<ir::Storage>& memory = node_->storage;
  memory->assign(*value->storage);
  if (value.use_count() == 1 && value->storage->owned() && !value->runtime_scalar) {
    value->storage = memory;  // the value's own node (and gradient rule), now in the user's memory
    set_node(std::move(value));
  } else {
    set_node(same_value_at(value, memory));
  }
  ++version;
}

namespace {
thread_local std::vector<std::weak_ptr<TensorImpl>> t_pending_updates;
}  // namespace

void note_pending_update(TensorImpl& root) {
  if (root.pending_update) return;
  root.pending_update = true;
  t_pending_updates.push_back(root.weak_from_this());
}

std::vector<ir::NodePtr> take_pending_updates() {
  std::vector<ir::NodePtr> nodes;
  for (const std::weak_ptr<TensorImpl>& w : t_pending_updates)
    if (std::shared_ptr<TensorImpl> t = w.lock()) {
      t->pending_update = false;
      // A chain to cut short: a constant (zero_(), fill_()) is no chain and needs no memory.
      if (t->node_ && ir::op_kind(t->node_->op) != ir::OpKind::Source) nodes.push_back(t->node_);
    }
  t_pending_updates.clear();
  return nodes;
}

ir::NodePtr same_value_at(const ir::NodePtr& value, std::shared_ptr<ir::Storage> memory) {
  ir::NodePtr n = ir::buffer(std::move(memory), value->shape, value->dtype, value->loc, value->device);
  // To autograd the node is an identity of `value`, so gradients reach it and whatever rule it
  // has (its recipe, a built-in or user-written custom rule, the other outputs of a multi-output
  // rule). `value` stays alive until backward releases it.
  if (value->grad == ir::Grad::Derived && !value->grad_released) {
    n->grad = ir::Grad::Derived;
    n->recipe = ir::alias(value, value->loc);
    n->recipe->grad = ir::Grad::Derived;
  } else if (value->grad == ir::Grad::Derived) {
    n->grad = ir::Grad::Derived;
    n->grad_released = true;
  }
  return n;
}

void TensorImpl::add_view(const std::shared_ptr<TensorImpl>& view) {
  // Prune dead entries whenever the list doubles, so registration stays amortized O(1).
  if (views.size() >= 8 && (views.size() & (views.size() - 1)) == 0)
    std::erase_if(views, [](const std::weak_ptr<TensorImpl>& w) { return w.expired(); });
  views.push_back(view);
}

void TensorImpl::forget_view_nodes() {
  for (const std::weak_ptr<TensorImpl>& w : views)
    if (std::shared_ptr<TensorImpl> v = w.lock()) {
      v->node_.reset();
      v->base_version = version - 1;  // re-derive on next use
    }
}

Layout TensorImpl::layout() const {
  if (base) return view_layout;
  return {node_->shape, contiguous_strides(node_->shape), 0};
}

Tensor make_tensor(ir::NodePtr node) {
  return Tensor(std::make_shared<TensorImpl>(std::move(node)));
}

}  // namespace kiln::detail
