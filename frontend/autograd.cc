#include <cctype>
// Tensor::backward, autograd::grad and the autograd state of tensors. The differentiation itself
// is passes/autodiff; this file chooses what to differentiate, where gradients go and when they
// are evaluated.
#include "kiln/autograd.h"

#include "frontend/anomaly.h"
#include "frontend/autograd_registry.h"
#include "runtime/dump.h"
#include "frontend/recording.h"
#include "ir/grad_mode.h"
#include "kiln/functions.h"
#include "passes/autodiff.h"

namespace kiln {

bool is_grad_enabled() { return ir::grad_mode_enabled(); }
bool GradMode::is_enabled() { return ir::grad_mode_enabled(); }
void GradMode::set_enabled(bool enabled) { ir::set_grad_mode(enabled); }

bool Tensor::requires_grad() const { return defined() && node()->grad != ir::Grad::None; }
bool Tensor::is_leaf() const { return !defined() || node()->grad != ir::Grad::Derived; }
Tensor Tensor::grad() const { return defined() ? impl_->grad : Tensor(); }
Tensor& Tensor::mutable_grad() { return impl_->grad; }
bool Tensor::retains_grad() const { return defined() && impl_->retains_grad; }

std::shared_ptr<GradFn> Tensor::grad_fn() const {
  if (!defined() || node()->grad != ir::Grad::Derived) return nullptr;
  const ir::Node& n = node()->recorded();
  return std::make_shared<GradFn>(GradFn{n.composite ? n.composite : std::string(ir::op_name(n.op)), n.loc});
}

// "reduce_sum" -> "SumBackward0", "log_softmax" -> "LogSoftmaxBackward0".
std::string GradFn::name() const {
  std::string base = op.rfind("reduce_", 0) == 0 ? op.substr(7) : op, out;
  bool upper = true;
  for (char c : base) {
    if (c == '_') {
      upper = true;
      continue;
    }
    out += upper ? static_cast<char>(std::toupper(static_cast<unsigned char>(c))) : c;
    upper = false;
  }
  return out + "Backward0";
}

void Tensor::set_data(const Tensor& new_data, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "set_data", loc);
  const ir::NodePtr& value = detail::operand(new_data, "set_data", loc);
  check(!impl_->base, "set_data", loc, "can't set the data of a view");
  check(is_leaf(), "set_data", loc, "can only set the data of a leaf tensor (one that no op computed)");
  impl_->forget_view_nodes();
  impl_->set_node(detail::cut_gradient(value, loc));
  ++impl_->version;
}

Tensor& Tensor::detach_(Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "detach_", loc);
  check(!impl_->base, "detach_", loc, "can't detach views in-place; use detach() instead");
  Tensor& self = const_cast<Tensor&>(*this);
  impl_->is_variable = false;
  impl_->set_node(detail::cut_gradient(impl_->node_, loc));
  ++impl_->version;
  return self;
}

Tensor& Tensor::requires_grad_(bool r, Loc call) const {
  Tensor& self = const_cast<Tensor&>(*this);  // const, as LibTorch's: the handle is const, the tensor is not
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "requires_grad_", loc);
  check(!r || is_floating_point(), "requires_grad_", loc,
        [&] { return "only tensors of floating point dtype can require gradients, got " + detail::describe(*this); });
  if (!is_leaf()) {
    check(r, "requires_grad_", loc,
          "you can only change requires_grad flags of leaf tensors; use detach() for a copy that does not "
          "require grad");
    return self;
  }
  if (r != impl_->is_variable) impl_->set_requires_grad(r);
  return self;
}

void Tensor::retain_grad(Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "retain_grad", loc);
  check(requires_grad(), "retain_grad", loc, "can't retain_grad on a tensor that has requires_grad=false");
  if (is_leaf()) return;  // leaves get .grad() anyway
  impl_->retains_grad = true;
  detail::register_grad_sink(node().get(), impl_);
}

void Tensor::backward(const Tensor& gradient, std::optional<bool> retain_graph, bool create_graph, Loc loc) const {
  autograd::backward({*this}, {gradient}, retain_graph, create_graph, loc);
}

namespace autograd {

namespace {

struct Seeds {
  std::vector<ir::NodePtr> outputs, cotangents;
};

// The outputs to differentiate and their cotangents, checked as PyTorch checks them.
Seeds seeds(const tensor_list& outputs, const tensor_list& grad_outputs, const char* op, SourceLoc loc) {
  check(!outputs.empty(), op, loc, "needs at least one output");
  check(grad_outputs.empty() || grad_outputs.size() == outputs.size() ||
            (grad_outputs.size() == 1 && !grad_outputs[0].defined()),
        op, loc, [&] {
          return "got " + std::to_string(outputs.size()) + " outputs but " + std::to_string(grad_outputs.size()) +
                 " gradients";
        });
  Seeds s;
  for (size_t i = 0; i < outputs.size(); ++i) {
    const ir::NodePtr& out = detail::operand(outputs[i], op, loc);
    check(out->grad != ir::Grad::None, op, loc, [&] {
      return "element " + std::to_string(i) + " of tensors does not require grad and does not have a grad_fn";
    });
    const Tensor g = i < grad_outputs.size() ? grad_outputs[i] : Tensor();
    s.outputs.push_back(out);
    if (!g.defined()) {
      check(out->numel() == 1, op, loc, [&] {
        return "grad can be implicitly created only for scalar outputs, but output " + std::to_string(i) +
               " has shape " + shape_str(out->shape) + "; pass a gradient";
      });
      s.cotangents.push_back(detail::constant(1, out->shape, out->dtype, loc, out->device));
      continue;
    }
    const ir::NodePtr& gn = detail::node_of(g);
    check(gn->shape == out->shape, op, loc, [&] {
      return "mismatch in shape: grad_output[" + std::to_string(i) + "] has a shape of " + shape_str(gn->shape) +
             " and output[" + std::to_string(i) + "] has a shape of " + shape_str(out->shape);
    });
    s.cotangents.push_back(detail::cast_to(gn, out->dtype, loc));
  }
  return s;
}

// Runs the transform over `graph` (the seeds' gradient graph) in grad mode iff create_graph,
// dumping the backward graph if asked.
std::vector<ir::NodePtr> differentiate(const std::vector<ir::NodePtr>& graph, const Seeds& s,
                                       const std::vector<ir::NodePtr>& wrt, bool create_graph) {
  ir::GradModeGuard mode(create_graph);
  bool dump = runtime::dump_options().backward, anomaly = AnomalyMode::is_enabled();
  std::unordered_map<const ir::Node*, const ir::Node*> origins;
  std::vector<ir::NodePtr> grads =
      passes::differentiate(graph, s.outputs, s.cotangents, wrt, dump || anomaly ? &origins : nullptr);
  if (dump) runtime::dump_backward(s.outputs, grads, origins);
  if (anomaly) detail::check_gradient_anomalies(grads, origins);
  return grads;
}

}  // namespace

void backward(const tensor_list& tensors, const tensor_list& grad_tensors, std::optional<bool> retain_graph,
              bool create_graph, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  runtime::EvaluationCause why("backward() at " + loc.str());
  Seeds s = seeds(tensors, grad_tensors, "backward", loc);
  std::vector<ir::NodePtr> graph = passes::gradient_graph(s.outputs, loc);
  std::vector<ir::NodePtr> wrt;
  std::vector<std::shared_ptr<detail::TensorImpl>> sinks;
  for (const ir::NodePtr& n : graph)
    if (std::shared_ptr<detail::TensorImpl> sink = detail::grad_sink(n.get())) {
      wrt.push_back(n);
      sinks.push_back(std::move(sink));
    }
  std::vector<ir::NodePtr> grads = differentiate(graph, s, wrt, create_graph);

  // The leaves are evaluated too: a lazily updated parameter (an optimizer step recorded since
  // the last backward) is computed by this graph anyway, and materializing it keeps the next
  // step's graph from growing the chain of updates.
  tensor_list to_evaluate = tensors;
  for (const std::shared_ptr<detail::TensorImpl>& sink : sinks) to_evaluate.push_back(Tensor(sink));
  {
    ir::GradModeGuard mode(create_graph);
    for (size_t i = 0; i < sinks.size(); ++i) {
      if (!grads[i]) continue;
      Tensor g = detail::make_tensor(std::move(grads[i]));
      Tensor& total = sinks[i]->grad;
      total = total.defined() ? total.add(g, 1, call) : g;
      to_evaluate.push_back(total);
    }
  }
  if (!retain_graph.value_or(create_graph)) passes::release(graph);
  eval(to_evaluate);
}

tensor_list grad(const tensor_list& outputs, const tensor_list& inputs, const tensor_list& grad_outputs,
                 std::optional<bool> retain_graph, bool create_graph, bool allow_unused, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  check(!inputs.empty(), "grad", loc, "grad requires non-empty inputs");
  Seeds s = seeds(outputs, grad_outputs, "grad", loc);
  std::vector<ir::NodePtr> wrt;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const ir::NodePtr& n = detail::operand(inputs[i], "grad", loc);
    check(n->grad != ir::Grad::None, "grad", loc, [&] {
      return "input " + std::to_string(i) + " (" + detail::describe(inputs[i]) + ") does not require grad";
    });
    wrt.push_back(n);
  }
  std::vector<ir::NodePtr> graph = passes::gradient_graph(s.outputs, loc);
  std::vector<ir::NodePtr> grads = differentiate(graph, s, wrt, create_graph);
  tensor_list result;
  for (size_t i = 0; i < grads.size(); ++i) {
    check(grads[i] || allow_unused, "grad", loc, [&] {
      return "input " + std::to_string(i) +
             " appears to not have been used in the graph; pass allow_unused=true if this is intended";
    });
    result.push_back(grads[i] ? detail::make_tensor(std::move(grads[i])) : Tensor());
  }
  if (!retain_graph.value_or(create_graph)) passes::release(graph);
  return result;
}

}  // namespace autograd
}  // namespace kiln
