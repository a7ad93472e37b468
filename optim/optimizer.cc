#include "kiln/optim/optimizer.h"

#include <cmath>

namespace kiln::optim {

Optimizer::Optimizer(std::vector<OptimizerParamGroup> groups, std::unique_ptr<OptimizerOptions> defaults)
    : defaults_(std::move(defaults)) {
  for (const OptimizerParamGroup& g : groups) add_param_group(g);
}

void Optimizer::add_param_group(const OptimizerParamGroup& group) {
  OptimizerParamGroup g = group;
  if (!g.has_options()) g.set_options(defaults_->clone());
  for (const Tensor& p : g.params())
    check(p.defined() && p.is_leaf() && p.requires_grad(), "optimizer", {},
          "can only optimize defined leaf tensors that require grad");
  groups_.push_back(std::move(g));
}

void Optimizer::zero_grad(bool set_to_none) {
  for (OptimizerParamGroup& g : groups_)
    for (Tensor& p : g.params()) {
      if (!p.grad().defined()) continue;
      if (set_to_none) p.mutable_grad() = Tensor();
      else p.grad().zero_();
    }
}

std::vector<Tensor> Optimizer::parameters() const {
  std::vector<Tensor> out;
  for (const OptimizerParamGroup& g : groups_) out.insert(out.end(), g.params().begin(), g.params().end());
  return out;
}

SGD::SGD(std::vector<Tensor> params, const SGDOptions& options)
    : SGD(std::vector<OptimizerParamGroup>{OptimizerParamGroup(std::move(params))}, options) {}

SGD::SGD(std::vector<OptimizerParamGroup> groups, const SGDOptions& options)
    : Optimizer(std::move(groups), std::make_unique<SGDOptions>(options)) {
  check(options.lr_ >= 0, "SGD", {}, [&] { return "invalid learning rate: " + std::to_string(options.lr_); });
  check(!options.nesterov_ || (options.momentum_ > 0 && options.dampening_ == 0), "SGD", {},
        "nesterov momentum requires a momentum and zero dampening");
}

void SGD::step() {
  for_each_update<SGDOptions>(momentum_, [](SGDOptions& o, Tensor& buf, Tensor& p) {
    Tensor d_p = p.grad();
    if (o.weight_decay_ != 0) d_p = d_p.add(p, o.weight_decay_);
    if (o.momentum_ != 0) {
      if (!buf.defined()) buf = d_p.clone();
      else buf.mul_(o.momentum_).add_(d_p, 1 - o.dampening_);
      d_p = o.nesterov_ ? d_p.add(buf, o.momentum_) : buf;
    }
    p.add_(d_p, -o.lr_);
  });
}

std::vector<Optimizer::StateSlot> SGD::state_slots(size_t g, size_t i) {
  if (static_cast<SGDOptions&>(groups_[g].options()).momentum_ == 0) return {};
  return {{"momentum_buffer", &state_at(momentum_, g, i)}};
}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options) : Adam(std::move(params), options, false) {}

Adam::Adam(std::vector<Tensor> params, const AdamOptions& options, bool decoupled)
    : Optimizer({OptimizerParamGroup(std::move(params))}, std::make_unique<AdamOptions>(options)),
      decoupled_(decoupled) {
  check(options.lr_ >= 0 && options.eps_ >= 0 && options.betas_.first >= 0 && options.betas_.first < 1 &&
            options.betas_.second >= 0 && options.betas_.second < 1,
        decoupled ? "AdamW" : "Adam", {}, "invalid learning rate, epsilon or betas");
}

void Adam::step() {
  for_each_update<AdamOptions>(state_, [this](AdamOptions& o, State& s, Tensor& p) {
    if (!s.exp_avg.defined()) s.exp_avg = zeros_like(p), s.exp_avg_sq = zeros_like(p);
    ++s.step;
    Tensor grad = p.grad();
    if (o.weight_decay_ != 0) {
      if (decoupled_) p.mul_(1 - o.lr_ * o.weight_decay_);
      else grad = grad.add(p, o.weight_decay_);
    }
    auto [beta1, beta2] = o.betas_;
    s.exp_avg.mul_(beta1).add_(grad, 1 - beta1);
    s.exp_avg_sq.mul_(beta2).add_(grad.mul(grad), 1 - beta2);
    double correction1 = 1 - std::pow(beta1, static_cast<double>(s.step));
    double correction2 = 1 - std::pow(beta2, static_cast<double>(s.step));
    Tensor denom = s.exp_avg_sq.sqrt().div(std::sqrt(correction2)).add(o.eps_);
    p.add_(s.exp_avg.div(denom), -o.lr_ / correction1);
  });
}

std::vector<Optimizer::StateSlot> Adam::state_slots(size_t g, size_t i) {
  State& s = state_at(state_, g, i);
  return {{"step", nullptr, &s.step}, {"exp_avg", &s.exp_avg}, {"exp_avg_sq", &s.exp_avg_sq}};
}

RMSprop::RMSprop(std::vector<Tensor> params, const RMSpropOptions& options)
    : Optimizer({OptimizerParamGroup(std::move(params))}, std::make_unique<RMSpropOptions>(options)) {
  check(options.lr_ >= 0 && options.eps_ >= 0 && options.alpha_ >= 0 && options.momentum_ >= 0, "RMSprop", {},
        "invalid learning rate, epsilon, alpha or momentum");
}

void RMSprop::step() {
  for_each_update<RMSpropOptions>(state_, [](RMSpropOptions& o, State& s, Tensor& p) {
    Tensor grad = p.grad();
    if (o.weight_decay_ != 0) grad = grad.add(p, o.weight_decay_);
    if (!s.square_avg.defined()) s.square_avg = zeros_like(p);
    s.square_avg.mul_(o.alpha_).add_(grad.mul(grad), 1 - o.alpha_);
    Tensor avg;
    if (o.centered_) {
      if (!s.grad_avg.defined()) s.grad_avg = zeros_like(p);
      s.grad_avg.mul_(o.alpha_).add_(grad, 1 - o.alpha_);
      avg = s.square_avg.sub(s.grad_avg.mul(s.grad_avg)).sqrt().add(o.eps_);
    } else {
      avg = s.square_avg.sqrt().add(o.eps_);
    }
    if (o.momentum_ > 0) {
      if (!s.momentum.defined()) s.momentum = zeros_like(p);
      s.momentum.mul_(o.momentum_).add_(grad.div(avg));
      p.add_(s.momentum, -o.lr_);
    } else {
      p.add_(grad.div(avg), -o.lr_);
    }
  });
}

std::vector<Optimizer::StateSlot> RMSprop::state_slots(size_t g, size_t i) {
  const RMSpropOptions& o = static_cast<RMSpropOptions&>(groups_[g].options());
  State& s = state_at(state_, g, i);
  std::vector<StateSlot> slots{{"square_avg", &s.square_avg}};
  if (o.centered_) slots.push_back({"grad_avg", &s.grad_avg});
  if (o.momentum_ > 0) slots.push_back({"momentum_buffer", &s.momentum});
  return slots;
}

}  // namespace kiln::optim
