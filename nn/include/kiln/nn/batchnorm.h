// Batch normalization, as torch::nn::BatchNorm1d/2d and F::batch_norm. In training a batch is
// normalized by its own statistics over every dim but the channels (dim 1), and the running
// mean and (unbiased) variance buffers are updated in place; in eval mode the running
// statistics normalize. The updates are recorded lazily: they evaluate with the next step.
#pragma once

#include <optional>

#include "kiln/nn/module.h"

namespace kiln::nn {

struct BatchNormOptions {
  BatchNormOptions(int64_t num_features) : num_features_(num_features) {}
  BatchNormOptions& eps(double v) { eps_ = v; return *this; }
  // nullopt: a cumulative average over the batches seen (num_batches_tracked).
  BatchNormOptions& momentum(std::optional<double> v) { momentum_ = v; return *this; }
  BatchNormOptions& affine(bool v) { affine_ = v; return *this; }
  BatchNormOptions& track_running_stats(bool v) { track_running_stats_ = v; return *this; }
  int64_t num_features_;
  double eps_ = 1e-5;
  std::optional<double> momentum_ = 0.1;
  bool affine_ = true, track_running_stats_ = true;
};

namespace functional {
struct BatchNormFuncOptions {
  BatchNormFuncOptions& weight(Tensor w) { weight_ = std::move(w); return *this; }
  BatchNormFuncOptions& bias(Tensor b) { bias_ = std::move(b); return *this; }
  BatchNormFuncOptions& training(bool v) { training_ = v; return *this; }
  BatchNormFuncOptions& momentum(double v) { momentum_ = v; return *this; }
  BatchNormFuncOptions& eps(double v) { eps_ = v; return *this; }
  Tensor weight_, bias_;
  bool training_ = false;
  double momentum_ = 0.1, eps_ = 1e-5;
};
// input [N, C, *]; running_mean and running_var [C] (undefined: batch statistics only).
Tensor batch_norm(const Tensor& input, const Tensor& running_mean, const Tensor& running_var,
                  const BatchNormFuncOptions& options = {}, Loc loc = Loc::current());
}  // namespace functional

// BatchNorm1d takes [N, C] or [N, C, L]; BatchNorm2d takes [N, C, H, W]. weight starts at 1, bias
// at 0, running_mean at 0, running_var at 1, as PyTorch's.
class BatchNormImplBase : public Module {
 public:
  BatchNormImplBase(const BatchNormOptions& options, const char* name, std::vector<int64_t> ranks);
  Tensor forward(const Tensor& input, Loc loc = Loc::current());
  void reset_running_stats();
  void reset_parameters();
  void pretty_print(std::ostream& os) const override;

  BatchNormOptions options;
  Tensor weight, bias, running_mean, running_var, num_batches_tracked;

 private:
  std::vector<int64_t> ranks_;  // the input ranks the layer takes
};

class BatchNorm1dImpl : public BatchNormImplBase {
 public:
  BatchNorm1dImpl(int64_t num_features) : BatchNorm1dImpl(BatchNormOptions(num_features)) {}
  explicit BatchNorm1dImpl(const BatchNormOptions& options) : BatchNormImplBase(options, "BatchNorm1d", {2, 3}) {}
};
KILN_MODULE(BatchNorm1d);

class BatchNorm2dImpl : public BatchNormImplBase {
 public:
  BatchNorm2dImpl(int64_t num_features) : BatchNorm2dImpl(BatchNormOptions(num_features)) {}
  explicit BatchNorm2dImpl(const BatchNormOptions& options) : BatchNormImplBase(options, "BatchNorm2d", {4}) {}
};
KILN_MODULE(BatchNorm2d);

}  // namespace kiln::nn
