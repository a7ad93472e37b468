#include "kiln/optim/schedulers.h"

#include <cmath>
#include <numbers>

namespace kiln::optim {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
  for (OptimizerParamGroup& g : optimizer_.param_groups()) base_.push_back(g.options().get_lr());
}

void LRScheduler::step() {
  ++epoch_;
  std::vector<OptimizerParamGroup>& groups = optimizer_.param_groups();
  for (size_t i = 0; i < groups.size() && i < base_.size(); ++i) groups[i].options().set_lr(rate(base_[i], epoch_));
}

StepLR::StepLR(Optimizer& optimizer, int64_t step_size, double gamma)
    : LRScheduler(optimizer), step_size_(step_size), gamma_(gamma) {
  check(step_size > 0, "StepLR", {}, [&] { return "step_size must be positive, got " + std::to_string(step_size); });
}
double StepLR::rate(double base, int64_t epoch) const {
  return base * std::pow(gamma_, static_cast<double>(epoch / step_size_));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min)
    : LRScheduler(optimizer), t_max_(t_max), eta_min_(eta_min) {
  check(t_max > 0, "CosineAnnealingLR", {}, [&] { return "T_max must be positive, got " + std::to_string(t_max); });
}
double CosineAnnealingLR::rate(double base, int64_t epoch) const {
  return eta_min_ + (base - eta_min_) * (1 + std::cos(std::numbers::pi * static_cast<double>(epoch) / t_max_)) / 2;
}

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, double factor, int64_t patience, double threshold,
                                     double min_lr)
    : optimizer_(optimizer), factor_(factor), threshold_(threshold), min_lr_(min_lr), patience_(patience) {
  check(factor < 1 && factor > 0, "ReduceLROnPlateau", {}, "factor must be in (0, 1)");
}

void ReduceLROnPlateau::step(double metric) {
  if (!has_best_ || metric < best_ * (1 - threshold_)) {
    best_ = metric;
    has_best_ = true;
    bad_steps_ = 0;
    return;
  }
  if (++bad_steps_ <= patience_) return;
  for (OptimizerParamGroup& g : optimizer_.param_groups())
    g.options().set_lr(std::max(g.options().get_lr() * factor_, min_lr_));
  bad_steps_ = 0;
}

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type, Loc loc) {
  NoGradGuard no_grad;
  std::vector<Tensor> grads;
  for (const Tensor& p : parameters)
    if (p.grad().defined()) grads.push_back(p.grad());
  if (grads.empty()) return 0.0;
  double total = 0;
  if (std::isinf(norm_type)) {
    for (const Tensor& g : grads) total = std::max(total, g.abs(loc).max(loc).item<double>(loc));
  } else {
    Tensor sum = zeros({}, dtype(kFloat64), loc);
    for (const Tensor& g : grads) sum = sum.add(g.abs(loc).pow(norm_type, loc).sum({}, false, kFloat64, loc), 1, loc);
    total = std::pow(sum.item<double>(loc), 1 / norm_type);
  }
  double coefficient = max_norm / (total + 1e-6);
  if (coefficient < 1)
    for (const Tensor& g : grads) g.mul_(coefficient, loc);
  return total;
}

}  // namespace kiln::optim
