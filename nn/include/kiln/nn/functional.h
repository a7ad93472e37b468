// kiln::nn::functional (ported code writes `namespace F = kiln::nn::functional;`): the stateless
// forms of the layers and the losses, with LibTorch's FuncOptions. Each is a composite of
// recorded primitives, so it fuses with its neighbours and differentiates by the autograd
// transform.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "kiln/kiln.h"

namespace kiln::nn {

enum class Reduction { None, Mean, Sum };
enum class PadMode { Constant, Reflect, Replicate, Circular };

namespace functional {

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias = {}, Loc loc = Loc::current());
Tensor relu(const Tensor& input, Loc loc = Loc::current());
Tensor gelu(const Tensor& input, Loc loc = Loc::current());
Tensor silu(const Tensor& input, Loc loc = Loc::current());

struct DropoutFuncOptions {
  DropoutFuncOptions& p(double v) { p_ = v; return *this; }
  DropoutFuncOptions& training(bool v) { training_ = v; return *this; }
  double p_ = 0.5;
  bool training_ = true;
};
// Zeroes each element with probability p and scales the rest by 1 / (1 - p) in training.
Tensor dropout(const Tensor& input, const DropoutFuncOptions& options = {}, Loc loc = Loc::current());

struct LayerNormFuncOptions {
  explicit LayerNormFuncOptions(std::vector<int64_t> normalized_shape) : normalized_shape_(std::move(normalized_shape)) {}
  LayerNormFuncOptions& weight(Tensor w) { weight_ = std::move(w); return *this; }
  LayerNormFuncOptions& bias(Tensor b) { bias_ = std::move(b); return *this; }
  LayerNormFuncOptions& eps(double e) { eps_ = e; return *this; }
  std::vector<int64_t> normalized_shape_;
  Tensor weight_, bias_;
  double eps_ = 1e-5;
};
// Normalizes over the trailing `normalized_shape` dims (biased variance), then * weight + bias.
Tensor layer_norm(const Tensor& input, const LayerNormFuncOptions& options, Loc loc = Loc::current());

// Rows of `weight` ([num_embeddings, dim]) at the int64 positions in `input`.
Tensor embedding(const Tensor& input, const Tensor& weight, Loc loc = Loc::current());

// Integer classes as one-hot rows (int64), num_classes inferred from the largest when -1.
Tensor one_hot(const Tensor& classes, int64_t num_classes = -1, Loc loc = Loc::current());

struct MSELossFuncOptions {
  MSELossFuncOptions& reduction(Reduction r) { reduction_ = r; return *this; }
  Reduction reduction_ = Reduction::Mean;
};
Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossFuncOptions& options = {},
                Loc loc = Loc::current());

struct L1LossFuncOptions {
  L1LossFuncOptions& reduction(Reduction r) { reduction_ = r; return *this; }
  Reduction reduction_ = Reduction::Mean;
};
Tensor l1_loss(const Tensor& input, const Tensor& target, const L1LossFuncOptions& options = {},
               Loc loc = Loc::current());

struct SmoothL1LossFuncOptions {
  SmoothL1LossFuncOptions& reduction(Reduction r) { reduction_ = r; return *this; }
  SmoothL1LossFuncOptions& beta(double b) { beta_ = b; return *this; }
  Reduction reduction_ = Reduction::Mean;
  double beta_ = 1.0;
};
// 0.5 d^2 / beta where |d| < beta, |d| - 0.5 beta elsewhere (the L1 loss for beta = 0).
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossFuncOptions& options = {},
                      Loc loc = Loc::current());

struct BinaryCrossEntropyFuncOptions {
  BinaryCrossEntropyFuncOptions& weight(Tensor w) { weight_ = std::move(w); return *this; }
  BinaryCrossEntropyFuncOptions& reduction(Reduction r) { reduction_ = r; return *this; }
  Tensor weight_;
  Reduction reduction_ = Reduction::Mean;
};
// input: probabilities; each log is clamped at -100, as PyTorch's.
Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BinaryCrossEntropyFuncOptions& options = {},
                            Loc loc = Loc::current());

struct BinaryCrossEntropyWithLogitsFuncOptions {
  BinaryCrossEntropyWithLogitsFuncOptions& weight(Tensor w) { weight_ = std::move(w); return *this; }
  BinaryCrossEntropyWithLogitsFuncOptions& pos_weight(Tensor w) { pos_weight_ = std::move(w); return *this; }
  BinaryCrossEntropyWithLogitsFuncOptions& reduction(Reduction r) { reduction_ = r; return *this; }
  Tensor weight_, pos_weight_;
  Reduction reduction_ = Reduction::Mean;
};
// input: logits; computed through a stable log-sigmoid, finite for any logit.
Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BinaryCrossEntropyWithLogitsFuncOptions& options = {},
                                        Loc loc = Loc::current());

struct NLLLossFuncOptions {
  NLLLossFuncOptions& weight(Tensor w) { weight_ = std::move(w); return *this; }
  NLLLossFuncOptions& ignore_index(int64_t i) { ignore_index_ = i; return *this; }
  NLLLossFuncOptions& reduction(Reduction r) { reduction_ = r; return *this; }
  Tensor weight_;
  int64_t ignore_index_ = -100;
  Reduction reduction_ = Reduction::Mean;
};
// input: log-probabilities [N, C]; target: class indices [N] (int64).
Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossFuncOptions& options = {},
                Loc loc = Loc::current());

struct CrossEntropyFuncOptions {
  CrossEntropyFuncOptions& weight(Tensor w) { weight_ = std::move(w); return *this; }
  CrossEntropyFuncOptions& ignore_index(int64_t i) { ignore_index_ = i; return *this; }
  CrossEntropyFuncOptions& reduction(Reduction r) { reduction_ = r; return *this; }
  CrossEntropyFuncOptions& label_smoothing(double s) { label_smoothing_ = s; return *this; }
  Tensor weight_;
  int64_t ignore_index_ = -100;
  Reduction reduction_ = Reduction::Mean;
  double label_smoothing_ = 0.0;
};
// input: logits [N, C]; target: class indices [N] (int64). log_softmax then nll_loss, with
// PyTorch's label smoothing: (1 - s) * nll + s * (the mean over classes of -log p, weighted).
Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyFuncOptions& options = {},
                     Loc loc = Loc::current());

struct PadFuncOptions {
  PadFuncOptions(std::vector<int64_t> pad) : pad_(std::move(pad)) {}
  PadFuncOptions& mode(PadMode m) { mode_ = m; return *this; }
  PadFuncOptions& value(double v) { value_ = v; return *this; }
  std::vector<int64_t> pad_;  // {left, right, top, bottom, ...}: last dimension first
  PadMode mode_ = PadMode::Constant;
  double value_ = 0;
};
// Constant pads (or crops, when negative) any trailing dims; reflect, replicate and circular pad
// up to the last three dims of a batched input, as PyTorch's.
Tensor pad(const Tensor& input, const PadFuncOptions& options, Loc loc = Loc::current());

}  // namespace functional
}  // namespace kiln::nn

namespace kiln {
// LibTorch's spelling of the modes: F::PadFuncOptions({1, 1}).mode(kiln::kReflect).
inline constexpr nn::PadMode kConstant = nn::PadMode::Constant, kReflect = nn::PadMode::Reflect,
                             kReplicate = nn::PadMode::Replicate, kCircular = nn::PadMode::Circular;
inline constexpr nn::Reduction kNone = nn::Reduction::None, kMean = nn::Reduction::Mean, kSum = nn::Reduction::Sum;
}  // namespace kiln
