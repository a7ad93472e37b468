#include "kiln/nn/batchnorm.h"

#include <algorithm>

#include "ir/composite.h"

namespace kiln::nn {

namespace functional {

Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const BatchNormFuncOptions& o, Loc loc) {
  SourceLoc l = SourceLoc::from(loc);
  check(input.defined() && input.dim() >= 2, "batch_norm", l, [&] {
    return "expected input [N, C, *] with at least 2 dims, got " +
           (input.defined() ? shape_str(input.sizes()) : std::string("undefined"));
  });
  int64_t c = input.size(1);
  std::vector<int64_t> per_channel{c};
  for (const Tensor* t : {&running_mean, &running_var, &o.weight_, &o.bias_}) {
    check(!t->defined() || t->sizes() == per_channel, "batch_norm", l, [&] {
      return "expected running statistics, weight and bias of shape [" + std::to_string(c) + "] for input " +
             shape_str(input.sizes()) + ", got " + shape_str(t->sizes());
    });
  }
  check(o.training_ || (running_mean.defined() && running_var.defined()), "batch_norm", l,
        "running_mean and running_var must be defined in evaluation mode");
  std::vector<int64_t> axes{0}, shape(static_cast<size_t>(input.dim()), 1);
  for (int64_t d = 2; d < input.dim(); ++d) axes.push_back(d);
  shape[1] = c;
  int64_t count = input.numel() / std::max<int64_t>(c, 1);
  ir::CompositeScope composite("batch_norm");
  Tensor mean, var;
  if (o.training_) {
    check(count > 1, "batch_norm", l, [&] {
      return "expected more than 1 value per channel when training, got input " + shape_str(input.sizes());
    });
    mean = input.mean(axes, false, loc);
    Tensor centered = input.sub(mean.reshape(shape, loc), 1, loc);
    var = centered.mul(centered, loc).mean(axes, false, loc);  // biased, for normalizing
    if (running_mean.defined()) {
      NoGradGuard no_grad;  // the running statistics take the unbiased variance
      double m = o.momentum_, unbiased = static_cast<double>(count) / static_cast<double>(count - 1);
      running_mean.mul_(1 - m, loc).add_(mean.detach().mul(m, loc), 1, loc);
      running_var.mul_(1 - m, loc).add_(var.detach().mul(m * unbiased, loc), 1, loc);
    }
  } else {
    mean = running_mean;
    var = running_var;
  }
  Tensor out = input.sub(mean.reshape(shape, loc), 1, loc).mul(var.add(o.eps_, loc).rsqrt(loc).reshape(shape, loc), loc);
  if (o.weight_.defined()) out = out.mul(o.weight_.reshape(shape, loc), loc);
  if (o.bias_.defined()) out = out.add(o.bias_.reshape(shape, loc), 1, loc);
  return out;
}

}  // namespace functional

BatchNormImplBase::BatchNormImplBase(const BatchNormOptions& o, const char* name, std::vector<int64_t> ranks)
    : Module(name), options(o), ranks_(std::move(ranks)) {
  check(o.num_features_ > 0, name, {}, [&] {
    return "num_features must be positive, got " + std::to_string(o.num_features_);
  });
  if (o.affine_) {
    weight = register_parameter("weight", ones({o.num_features_}));
    bias = register_parameter("bias", zeros({o.num_features_}));
  }
  if (o.track_running_stats_) {
    running_mean = register_buffer("running_mean", zeros({o.num_features_}).eval());
    running_var = register_buffer("running_var", ones({o.num_features_}).eval());
    num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, dtype(kInt64)).eval());
  }
}

void BatchNormImplBase::reset_running_stats() {
  if (!options.track_running_stats_) return;
  NoGradGuard no_grad;
  running_mean.zero_();
  running_var.fill_(1);
  num_batches_tracked.zero_();
}

void BatchNormImplBase::reset_parameters() {
  reset_running_stats();
  if (!options.affine_) return;
  NoGradGuard no_grad;
  weight.fill_(1);
  bias.zero_();
}

Tensor BatchNormImplBase::forward(const Tensor& input, Loc loc) {
  SourceLoc l = SourceLoc::from(loc);
  bool rank_ok = input.defined() && std::count(ranks_.begin(), ranks_.end(), input.dim()) > 0;
  check(rank_ok && input.size(1) == options.num_features_, name().c_str(), l, [&] {
    std::string f = std::to_string(options.num_features_);
    std::string want = ranks_.size() == 2 ? "[N, " + f + "] or [N, " + f + ", L]" : "[N, " + f + ", H, W]";
    return "expected input " + want + ", got " + (input.defined() ? shape_str(input.sizes()) : std::string("undefined"));
  });
  bool batch_stats = is_training() || !options.track_running_stats_;
  bool update = is_training() && options.track_running_stats_;
  double momentum = options.momentum_.value_or(0.0);
  // Without a momentum the running statistics are the plain average of every batch so far.
  if (update && !options.momentum_) momentum = 1.0 / static_cast<double>(num_batches_tracked.item<int64_t>(loc) + 1);
  Tensor out = functional::batch_norm(input, update || !batch_stats ? running_mean : Tensor(),
                                      update || !batch_stats ? running_var : Tensor(),
                                      functional::BatchNormFuncOptions()
                                          .weight(weight)
                                          .bias(bias)
                                          .training(batch_stats)
                                          .momentum(momentum)
                                          .eps(options.eps_),
                                      loc);
  if (update) {  // after the checks: a rejected batch counts for nothing
    NoGradGuard no_grad;
    num_batches_tracked.add_(1, loc);
  }
  return out;
}

void BatchNormImplBase::pretty_print(std::ostream& os) const {
  os << name() << "(" << options.num_features_ << ", eps=" << options.eps_ << ", momentum=";
  if (options.momentum_) os << *options.momentum_;
  else os << "None";
  os << ", affine=" << (options.affine_ ? "true" : "false")
     << ", track_running_stats=" << (options.track_running_stats_ ? "true" : "false") << ")";
}

}  // namespace kiln::nn
