// Learning-rate schedules, as torch::optim::StepLR and friends: each step() sets the learning
// rate of every parameter group of its optimizer. The rate reaches the kernels as a runtime
// scalar, so a schedule compiles nothing. Also clip_grad_norm_.
#pragma once

#include <vector>

#include "kiln/optim/optimizer.h"

namespace kiln::optim {

class LRScheduler {
 public:
  explicit LRScheduler(Optimizer& optimizer);
  virtual ~LRScheduler() = default;
  // Advances one epoch (or step) and sets the new rates.
  void step();
  int64_t epoch() const { return epoch_; }

 protected:
  // The rate of a group whose initial rate was `base`, at epoch `epoch`.
  virtual double rate(double base, int64_t epoch) const = 0;

 private:
  Optimizer& optimizer_;
  std::vector<double> base_;
  int64_t epoch_ = 0;
};

// base * gamma^(epoch / step_size).
class StepLR : public LRScheduler {
 public:
  StepLR(Optimizer& optimizer, int64_t step_size, double gamma = 0.1);

 protected:
  double rate(double base, int64_t epoch) const override;

 private:
  int64_t step_size_;
  double gamma_;
};

// eta_min + (base - eta_min) * (1 + cos(pi * epoch / t_max)) / 2.
class CosineAnnealingLR : public LRScheduler {
 public:
  CosineAnnealingLR(Optimizer& optimizer, int64_t t_max, double eta_min = 0);

 protected:
  double rate(double base, int64_t epoch) const override;

 private:
  int64_t t_max_;
  double eta_min_;
};

// Multiplies the rates by `factor` when `metric` (lower is better) has not improved by a
// relative `threshold` for more than `patience` steps.
class ReduceLROnPlateau {
 public:
  ReduceLROnPlateau(Optimizer& optimizer, double factor = 0.1, int64_t patience = 10, double threshold = 1e-4,
                    double min_lr = 0);
  void step(double metric);

 private:
  Optimizer& optimizer_;
  double factor_, threshold_, min_lr_;
  int64_t patience_, bad_steps_ = 0;
  double best_ = 0;
  bool has_best_ = false;
};

// Scales the gradients in place so that their joint `norm_type` norm is at most `max_norm`;
// returns the norm before clipping (evaluating the gradients, as LibTorch returns a double).
double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type = 2.0,
                       Loc loc = Loc::current());

}  // namespace kiln::optim
