// kiln::optim, as torch::optim: an optimizer holds parameter groups (each with its own options),
// zero_grad() clears their gradients and step() records the update of every parameter that has a
// gradient. Updates are in-place ops under NoGradGuard, recorded lazily like everything else:
// they evaluate with the next evaluation (the next step's forward and backward), fused into that
// graph, and a learning rate or step count that changes every step is a runtime scalar, so it
// compiles nothing. State (momentum buffers, moments) lives in tensors that are updated in place.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "kiln/kiln.h"

namespace kiln::optim {

// What every optimizer's options have: the learning rate (LibTorch's OptimizerOptions).
class OptimizerOptions {
 public:
  virtual ~OptimizerOptions() = default;
  virtual double get_lr() const = 0;
  virtual void set_lr(double lr) = 0;
  virtual std::unique_ptr<OptimizerOptions> clone() const = 0;
};

class OptimizerParamGroup {
 public:
  OptimizerParamGroup(std::vector<Tensor> params, std::unique_ptr<OptimizerOptions> options = nullptr)
      : params_(std::move(params)), options_(std::move(options)) {}
  OptimizerParamGroup(const OptimizerParamGroup& o)
      : params_(o.params_), options_(o.options_ ? o.options_->clone() : nullptr) {}
  std::vector<Tensor>& params() { return params_; }
  const std::vector<Tensor>& params() const { return params_; }
  bool has_options() const { return options_ != nullptr; }
  OptimizerOptions& options() { return *options_; }
  void set_options(std::unique_ptr<OptimizerOptions> o) { options_ = std::move(o); }

 private:
  std::vector<Tensor> params_;
  std::unique_ptr<OptimizerOptions> options_;
};

class Optimizer {
 public:
  virtual ~Optimizer() = default;
  // Clears the gradients of every parameter (set to none by default, as LibTorch 2's).
  void zero_grad(bool set_to_none = true);
  virtual void step() = 0;
  std::vector<OptimizerParamGroup>& param_groups() { return groups_; }
  void add_param_group(const OptimizerParamGroup& group);
  std::vector<Tensor> parameters() const;

  // The state as named tensors (PyTorch's state_dict, flattened): "param_groups.G.lr" (float64)
  // and, per parameter I of group G that has state, "state.G.I.<name>" ("momentum_buffer",
  // "exp_avg", "step", ...). The tensors are the optimizer's own (save() copies them).
  std::map<std::string, Tensor> state_dict() const;
  // Restores a state_dict of an optimizer of the same kind over parameters of the same shapes.
  // Everything is checked first: on any mismatch kiln::Error names the key and nothing changes.
  void load_state_dict(const std::map<std::string, Tensor>& state);

 protected:
  Optimizer(std::vector<OptimizerParamGroup> groups, std::unique_ptr<OptimizerOptions> defaults);

  // One named piece of a parameter's state: a tensor of the parameter's shape, or a count.
  struct StateSlot {
    std::string name;
    Tensor* tensor = nullptr;
    int64_t* count = nullptr;
  };
  // The state slots parameter i of group g has under its group's options (made on first use).
  virtual std::vector<StateSlot> state_slots(size_t g, size_t i) = 0;
  template <typename State>
  static State& state_at(std::vector<std::vector<State>>& state, size_t g, size_t i) {
    if (state.size() <= g) state.resize(g + 1);
    if (state[g].size() <= i) state[g].resize(i + 1);
    return state[g][i];
  }
  // Calls f(group's options, state slot, parameter) for each parameter that has a gradient, under
  // NoGradGuard; `state` holds one State per parameter, made on first use.
  template <typename Options, typename State, typename F>
  void for_each_update(std::vector<std::vector<State>>& state, F f) {
    NoGradGuard no_grad;
    state.resize(groups_.size());
    for (size_t g = 0; g < groups_.size(); ++g) {
      std::vector<Tensor>& params = groups_[g].params();
      state[g].resize(params.size());
      for (size_t i = 0; i < params.size(); ++i)
        if (params[i].grad().defined()) f(static_cast<Options&>(groups_[g].options()), state[g][i], params[i]);
    }
  }
  std::vector<OptimizerParamGroup> groups_;
  std::unique_ptr<OptimizerOptions> defaults_;
};

struct SGDOptions : OptimizerOptions {
  explicit SGDOptions(double lr) : lr_(lr) {}
  SGDOptions& lr(double v) { lr_ = v; return *this; }
  SGDOptions& momentum(double v) { momentum_ = v; return *this; }
  SGDOptions& dampening(double v) { dampening_ = v; return *this; }
  SGDOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  SGDOptions& nesterov(bool v) { nesterov_ = v; return *this; }
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  std::unique_ptr<OptimizerOptions> clone() const override { return std::make_unique<SGDOptions>(*this); }
  double lr_, momentum_ = 0, dampening_ = 0, weight_decay_ = 0;
  bool nesterov_ = false;
};

// Stochastic gradient descent with PyTorch's momentum, dampening, weight decay and Nesterov.
class SGD : public Optimizer {
 public:
  SGD(std::vector<Tensor> params, const SGDOptions& options);
  SGD(std::vector<OptimizerParamGroup> groups, const SGDOptions& options);
  void step() override;

 private:
  std::vector<StateSlot> state_slots(size_t g, size_t i) override;
  std::vector<std::vector<Tensor>> momentum_;  // per group, per parameter; undefined until first used
};

struct AdamOptions : OptimizerOptions {
  explicit AdamOptions(double lr = 1e-3) : lr_(lr) {}
  AdamOptions& lr(double v) { lr_ = v; return *this; }
  AdamOptions& betas(std::pair<double, double> b) { betas_ = b; return *this; }
  AdamOptions& eps(double v) { eps_ = v; return *this; }
  AdamOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  std::unique_ptr<OptimizerOptions> clone() const override { return std::make_unique<AdamOptions>(*this); }
  double lr_;
  std::pair<double, double> betas_ = {0.9, 0.999};
  double eps_ = 1e-8, weight_decay_ = 0;
};

// Adam (weight decay added to the gradient), and AdamW (decoupled: the parameter shrinks by
// lr * weight_decay before the update), as PyTorch's.
class Adam : public Optimizer {
 public:
  Adam(std::vector<Tensor> params, const AdamOptions& options = AdamOptions());
  void step() override;

 protected:
  Adam(std::vector<Tensor> params, const AdamOptions& options, bool decoupled);

 private:
  std::vector<StateSlot> state_slots(size_t g, size_t i) override;
  struct State {
    int64_t step = 0;
    Tensor exp_avg, exp_avg_sq;
  };
  bool decoupled_;
  std::vector<std::vector<State>> state_;
};

class AdamW : public Adam {
 public:
  AdamW(std::vector<Tensor> params, const AdamOptions& options = AdamOptions().weight_decay(1e-2))
      : Adam(std::move(params), options, true) {}
};

struct RMSpropOptions : OptimizerOptions {
  explicit RMSpropOptions(double lr = 1e-2) : lr_(lr) {}
  RMSpropOptions& lr(double v) { lr_ = v; return *this; }
  RMSpropOptions& alpha(double v) { alpha_ = v; return *this; }
  RMSpropOptions& eps(double v) { eps_ = v; return *this; }
  RMSpropOptions& weight_decay(double v) { weight_decay_ = v; return *this; }
  RMSpropOptions& momentum(double v) { momentum_ = v; return *this; }
  RMSpropOptions& centered(bool v) { centered_ = v; return *this; }
  double get_lr() const override { return lr_; }
  void set_lr(double lr) override { lr_ = lr; }
  std::unique_ptr<OptimizerOptions> clone() const override { return std::make_unique<RMSpropOptions>(*this); }
  double lr_, alpha_ = 0.99, eps_ = 1e-8, weight_decay_ = 0, momentum_ = 0;
  bool centered_ = false;
};

// RMSprop as PyTorch's: a running mean of squared gradients (centered: minus the squared mean
// gradient) scales each step; optional momentum and weight decay.
class RMSprop : public Optimizer {
 public:
  RMSprop(std::vector<Tensor> params, const RMSpropOptions& options = RMSpropOptions());
  void step() override;

 private:
  std::vector<StateSlot> state_slots(size_t g, size_t i) override;
  struct State {
    Tensor square_avg, grad_avg, momentum;
  };
  std::vector<std::vector<State>> state_;
};

}  // namespace kiln::optim
