// autograd::Function: a user's forward whose outputs take their gradients from the user's
// backward. The outputs become aliases of forward's results carrying an ir::CustomGradient, which
// passes/autodiff calls in place of the ops' own rules.
#include <cxxabi.h>

#include <algorithm>
#include <cstdlib>

#include "frontend/custom_gradient.h"
#include "frontend/recording.h"
#include "ir/grad_mode.h"
#include "kiln/autograd.h"
#include "kiln/functions.h"

namespace kiln::autograd {

namespace {

template <typename T>
const T& ivalue_get(
    const std::variant<std::monostate, bool, int64_t, double, std::string, Tensor, std::vector<int64_t>>& v,
    const char* want) {
  const T* p = std::get_if<T>(&v);
  check(p != nullptr, "IValue", SourceLoc{}, std::string("expected ") + want);
  return *p;
}

std::string demangle(const char* name) {
  int status = 0;
  char* readable = abi::__cxa_demangle(name, nullptr, nullptr, &status);
  std::string result = status == 0 ? readable : name;
  std::free(readable);
  return result;
}

struct UserGradient : ir::CustomGradient {
  std::shared_ptr<AutogradContext> ctx;
  FunctionCall::Backward user_backward;
  std::vector<size_t> input_args;  // the forward argument each of `inputs` came from
  size_t num_args = 0;
  bool materialize_grads = true;  // undefined output gradients arrive as zeros
  // Every output of forward (shape, dtype) and its index in `outputs`, or -1 for one that takes
  // no gradient (not floating, or marked non-differentiable): backward gets one gradient each.
  struct Output {
    Shape shape;
    ScalarType dtype;
    Device device;
  };
  std::vector<Output> forward_outputs;
  std::vector<int> differentiable_index;
  std::string name;
  SourceLoc loc;

  std::vector<ir::NodePtr> backward(const std::vector<ir::NodePtr>& output_grads) const override {
    tensor_list grads;
    for (size_t o = 0; o < forward_outputs.size(); ++o) {
      int d = differentiable_index[o];
      if (d >= 0 && output_grads[d])
        grads.push_back(detail::make_tensor(output_grads[d]));
      else if (materialize_grads)
        grads.push_back(
            detail::make_tensor(detail::constant(0, forward_outputs[o].shape, forward_outputs[o].dtype, loc,
                                                 forward_outputs[o].device)));
      else
        grads.emplace_back();
    }
    tensor_list result = user_backward(ctx.get(), std::move(grads));
    // Extra undefined gradients (for defaulted arguments the call left out) are dropped, as LibTorch.
    if (result.size() > num_args &&
        std::all_of(result.begin() + num_args, result.end(), [](const Tensor& t) { return !t.defined(); }))
      result.resize(num_args);
    check(result.size() == num_args, name.c_str(), loc, [&] {
      return "function backward returned an incorrect number of gradients (expected " + std::to_string(num_args) +
             ", got " + std::to_string(result.size()) + ")";
    });
    std::vector<ir::NodePtr> input_grads;
    for (size_t k = 0; k < inputs.size(); ++k) {
      const Tensor& g = result[input_args[k]];
      if (!g.defined()) {
        input_grads.push_back(nullptr);
        continue;
      }
      const ir::NodePtr& gn = detail::node_of(g);
      check(gn->shape == inputs[k]->shape, name.c_str(), loc, [&] {
        return "function backward returned an invalid gradient at index " + std::to_string(input_args[k]) + ": got " +
               shape_str(gn->shape) + " but expected shape " + shape_str(inputs[k]->shape);
      });
      input_grads.push_back(detail::cast_to(gn, inputs[k]->dtype, loc));
    }
    return input_grads;
  }
};

}  // namespace

bool IValue::toBool() const { return ivalue_get<bool>(value_, "a bool"); }
int64_t IValue::toInt() const { return ivalue_get<int64_t>(value_, "an int"); }
double IValue::toDouble() const {
  if (const int64_t* i = std::get_if<int64_t>(&value_)) return static_cast<double>(*i);
  return ivalue_get<double>(value_, "a double");
}
const std::string& IValue::toStringRef() const { return ivalue_get<std::string>(value_, "a string"); }
Tensor IValue::toTensor() const { return ivalue_get<Tensor>(value_, "a Tensor"); }
std::vector<int64_t> IValue::toIntVector() const { return ivalue_get<std::vector<int64_t>>(value_, "an int list"); }

void AutogradContext::save_for_backward(tensor_list to_save) {
  saved_ = std::move(to_save);
  saved_outputs_.assign(saved_.size(), {});
}

tensor_list AutogradContext::get_saved_variables() const {
  tensor_list saved = saved_;
  for (size_t i = 0; i < saved.size(); ++i)
    if (std::shared_ptr<ir::Node> output = saved_outputs_[i].lock()) saved[i] = detail::make_tensor(output);
  return saved;
}

void AutogradContext::mark_non_differentiable(const tensor_list& outputs) {
  non_differentiable_.insert(non_differentiable_.end(), outputs.begin(), outputs.end());
}

bool AutogradContext::needs_input_grad(size_t index) const {
  return index < needs_input_grad_.size() && needs_input_grad_[index];
}

tensor_list FunctionCall::finish(const std::shared_ptr<AutogradContext>& ctx, const tensor_list& args,
                                 tensor_list outputs, Backward backward, const char* type_name) {
  auto rule = std::make_shared<UserGradient>();
  rule->name = demangle(type_name);
  for (size_t i = 0; i < args.size(); ++i) {
    bool needs = args[i].defined() && args[i].requires_grad();
    ctx->needs_input_grad_.push_back(needs);
    if (!needs) continue;
    rule->inputs.push_back(detail::node_of(args[i]));
    rule->input_args.push_back(i);
  }
  if (rule->inputs.empty() || !ir::grad_mode_enabled()) return outputs;
  rule->ctx = ctx;
  rule->user_backward = std::move(backward);
  rule->num_args = args.size();
  rule->materialize_grads = ctx->materialize_grads_;
  std::vector<size_t> wrapped;  // which outputs take the rule: the floating ones
  std::vector<ir::NodePtr> raw;
  for (size_t i = 0; i < outputs.size(); ++i) {
    check(outputs[i].defined(), rule->name.c_str(), SourceLoc{}, "forward returned an undefined tensor");
    const ir::NodePtr& n = detail::node_of(outputs[i]);
    bool marked = std::any_of(ctx->non_differentiable_.begin(), ctx->non_differentiable_.end(),
                              [&](const Tensor& t) { return t.defined() && detail::node_of(t) == n; });
    rule->forward_outputs.push_back({n->shape, n->dtype, n->device});
    rule->differentiable_index.push_back(-1);
    if (!is_floating(n->dtype) || marked) continue;
    rule->loc = n->loc;
    rule->differentiable_index.back() = static_cast<int>(wrapped.size());
    wrapped.push_back(i);
    raw.push_back(n);
  }
  std::vector<ir::NodePtr> aliases = detail::attach_gradient(raw, rule);
  for (size_t k = 0; k < wrapped.size(); ++k) {
    for (size_t i = 0; i < ctx->saved_.size(); ++i)
      if (ctx->saved_[i].defined() && detail::node_of(ctx->saved_[i]) == raw[k]) ctx->saved_outputs_[i] = aliases[k];
    outputs[wrapped[k]] = detail::make_tensor(aliases[k]);
  }
  return outputs;
}

}  // namespace kiln::autograd
