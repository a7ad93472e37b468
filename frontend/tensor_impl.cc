#include "frontend/tensor_impl.h"

#include "frontend/autograd_registry.h"
#include "frontend/recording.h"
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

void TensorImpl::assign(ir::NodePtr value, SourceLoc loc) {
  // A detached view writes its base untracked, as PyTorch's x.detach().add_(1) and x.data.
  if (ir::grad_mode_enabled() && records_grad) {
    check(!is_variable, "in-place", loc,
          "a leaf tensor that requires grad is being used in an in-place operation; wrap it in NoGradGuard or "
          "detach() it");
    check(!(base && base->is_variable), "in-place", loc,
          "a view of a leaf tensor that requires grad is being used in an in-place operation");
  }
  if (!base) return replace(std::move(value));
  for (const ViewStep& s : view_steps)
    check(s.kind != ViewStep::Expand, "in-place", loc,
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
  set_node(std::move(value));
  ++version;
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
