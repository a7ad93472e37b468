// Autograd, as LibTorch's: requires_grad, backward, autograd::grad, NoGradGuard, custom
// Functions and gradcheck. Differentiation is a transform of the recorded graph (docs/AUTOGRAD.md):
// gradients are graph nodes, evaluated lazily and fused with the forward computation.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <tuple>
#include <type_traits>
#include <typeinfo>
#include <unordered_map>
#include <utility>
#include <variant>
#include <vector>

#include "ir/grad_mode.h"
#include "kiln/tensor.h"

namespace kiln {

// Sets grad mode for its scope on this thread and restores it after, as torch::AutoGradMode.
class AutoGradMode {
 public:
  explicit AutoGradMode(bool enabled) : guard_(enabled) {}

 private:
  ir::GradModeGuard guard_;
};

// Turns off recording of gradient structure in its scope, as torch::NoGradGuard: tensors
// computed inside do not require grad.
class NoGradGuard : public AutoGradMode {
 public:
  NoGradGuard() : AutoGradMode(false) {}
};

bool is_grad_enabled();

// The thread's grad mode, as at::GradMode.
struct GradMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};

namespace autograd {

using tensor_list = std::vector<Tensor>;
using variable_list = tensor_list;
using Variable = Tensor;  // LibTorch's autograd::Variable is a Tensor

// Anomaly mode, as torch::autograd::AnomalyMode: backward evaluates each gradient node on its
// own and raises kiln::Error naming the forward op (and the user's line that recorded it) whose
// gradient first holds a NaN or infinity. Slow: for debugging. Per thread.
struct AnomalyMode {
  static bool is_enabled();
  static void set_enabled(bool enabled);
};
class DetectAnomalyGuard {
 public:
  DetectAnomalyGuard() : previous_(AnomalyMode::is_enabled()) { AnomalyMode::set_enabled(true); }
  ~DetectAnomalyGuard() { AnomalyMode::set_enabled(previous_); }
  DetectAnomalyGuard(const DetectAnomalyGuard&) = delete;
  DetectAnomalyGuard& operator=(const DetectAnomalyGuard&) = delete;

 private:
  bool previous_;
};

// The gradients of `outputs` with respect to `inputs` (weighted by `grad_outputs`, which may be
// omitted for one-element outputs), without touching .grad(). They are recorded lazily; with
// create_graph they require grad and can be differentiated again. An input that the outputs do
// not depend on is an error unless allow_unused, which gives an undefined tensor for it.
tensor_list grad(const tensor_list& outputs, const tensor_list& inputs, const tensor_list& grad_outputs = {},
                 std::optional<bool> retain_graph = std::nullopt, bool create_graph = false, bool allow_unused = false,
                 Loc loc = Loc::current());

// Tensor::backward for several outputs at once, as torch::autograd::backward.
void backward(const tensor_list& tensors, const tensor_list& grad_tensors = {},
              std::optional<bool> retain_graph = std::nullopt, bool create_graph = false, Loc loc = Loc::current());

// A value ctx->saved_data holds, as c10::IValue for the common kinds.
class IValue {
 public:
  IValue() = default;
  IValue(bool v) : value_(v) {}
  IValue(int v) : value_(static_cast<int64_t>(v)) {}
  IValue(int64_t v) : value_(v) {}
  IValue(double v) : value_(v) {}
  IValue(std::string v) : value_(std::move(v)) {}
  IValue(const char* v) : value_(std::string(v)) {}
  IValue(Tensor v) : value_(std::move(v)) {}
  IValue(std::vector<int64_t> v) : value_(std::move(v)) {}

  bool isNone() const { return value_.index() == 0; }
  bool toBool() const;
  int64_t toInt() const;
  double toDouble() const;  // also converts an int
  const std::string& toStringRef() const;
  Tensor toTensor() const;
  std::vector<int64_t> toIntVector() const;

 private:
  std::variant<std::monostate, bool, int64_t, double, std::string, Tensor, std::vector<int64_t>> value_;
};

// What a custom Function's forward leaves for its backward.
class AutogradContext {
 public:
  void save_for_backward(tensor_list to_save);
  // The saved tensors; a saved output of forward is returned as the output the caller got.
  tensor_list get_saved_variables() const;
  // needs_input_grad(i): whether forward's i-th argument requires grad.
  bool needs_input_grad(size_t index) const;
  // Outputs of forward that get no gradient (indices, masks): they do not require grad.
  void mark_non_differentiable(const tensor_list& outputs);
  // With false, backward receives undefined tensors for outputs that got no gradient instead of
  // zeros (LibTorch's default is true).
  void set_materialize_grads(bool value) { materialize_grads_ = value; }
  std::unordered_map<std::string, IValue> saved_data;

 private:
  friend struct FunctionCall;
  tensor_list saved_;
  // For each saved tensor that is a raw output of forward, the output the caller got (weak: that
  // output owns this context through its gradient rule).
  std::vector<std::weak_ptr<ir::Node>> saved_outputs_;
  std::vector<bool> needs_input_grad_;
  tensor_list non_differentiable_;
  bool materialize_grads_ = true;
};

// The part of Function<T>::apply that does not depend on T (frontend/custom_function.cc).
struct FunctionCall {
  using Backward = std::function<tensor_list(AutogradContext*, tensor_list)>;
  // Gives the outputs of a forward run on `args` (one entry per argument: the tensor, or
  // undefined for a non-tensor argument) the gradient rule `backward`.
  static tensor_list finish(const std::shared_ptr<AutogradContext>& ctx, const tensor_list& args, tensor_list outputs,
                            Backward backward, const char* name);
};

// A custom differentiable op, as torch::autograd::Function:
//   struct Softplus : kiln::autograd::Function<Softplus> {
//     static Tensor forward(AutogradContext* ctx, Tensor x);
//     static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs);
//   };
//   Tensor y = Softplus::apply(x);
// forward runs with grad mode off; backward returns one gradient per argument of forward
// (undefined for non-tensors and inputs without one). Both are recorded lazily like any other
// ops, so they fuse with their neighbours.
template <class T>
struct Function {
  template <typename... Args>
  static auto apply(Args&&... args) {
    auto ctx = std::make_shared<AutogradContext>();
    tensor_list inputs;
    (add_inputs(inputs, args), ...);
    using Output = decltype(T::forward(ctx.get(), std::forward<Args>(args)...));
    tensor_list outputs;
    {
      NoGradGuard no_grad;
      if constexpr (std::is_same_v<std::decay_t<Output>, Tensor>)
        outputs = {T::forward(ctx.get(), std::forward<Args>(args)...)};
      else
        outputs = T::forward(ctx.get(), std::forward<Args>(args)...);
    }
    outputs = FunctionCall::finish(ctx, inputs, std::move(outputs), &T::backward, typeid(T).name());
    if constexpr (std::is_same_v<std::decay_t<Output>, Tensor>)
      return outputs[0];
    else
      return outputs;
  }

 private:
  // The inputs an argument contributes, as LibTorch's extract_vars: a tensor one, each tensor of
  // a tensor list (or an optional tensor) one apiece, anything else one undefined slot. backward
  // returns one gradient per slot.
  template <typename A>
  static void add_inputs(tensor_list& inputs, const A& a) {
    if constexpr (std::is_convertible_v<const A&, const Tensor&>) {
      inputs.push_back(a);
    } else if constexpr (std::is_convertible_v<const A&, const tensor_list&> ||
                         std::is_convertible_v<const A&, ArrayRef<Tensor>>) {
      for (const Tensor& t : ArrayRef<Tensor>(a)) inputs.push_back(t);
    } else if constexpr (std::is_same_v<A, std::optional<Tensor>>) {
      inputs.push_back(a ? *a : Tensor());
    } else {
      inputs.push_back(Tensor());
    }
  }
};

// Compares the gradients autograd computes for `fn` at `inputs` with central finite differences,
// as torch.autograd.gradcheck. Inputs that require grad must be float64. On a mismatch it raises
// kiln::Error naming the output, input and element, or returns false when raise_exception is off.
struct GradcheckOptions {
  double eps = 1e-6;
  double atol = 1e-5;
  double rtol = 1e-3;
  bool raise_exception = true;
};
using DifferentiableFn = std::function<tensor_list(const tensor_list&)>;
bool gradcheck(const DifferentiableFn& fn, const tensor_list& inputs, GradcheckOptions options = {},
               Loc loc = Loc::current());
// Checks second derivatives the same way, as torch.autograd.gradgradcheck: the gradients of
// fn's outputs, weighted by random grad_outputs, are themselves gradchecked.
bool gradgradcheck(const DifferentiableFn& fn, const tensor_list& inputs, GradcheckOptions options = {},
                   Loc loc = Loc::current());

}  // namespace autograd
}  // namespace kiln
