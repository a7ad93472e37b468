#include "ir/composite.h"
#include "kiln/nn/functional.h"

namespace kiln::nn::functional {

namespace {

void check_classes(const Tensor& input, const Tensor& target, const char* op, SourceLoc loc) {
  check(input.defined() && target.defined(), op, loc, "input and target must be defined");
  check(input.dim() == 2, op, loc, [&] {
    return "expected input of shape [N, C] (batch, classes), got " + shape_str(input.sizes());
  });
  check(target.dim() == 1 && target.size(0) == input.size(0), op, loc, [&] {
    return "expected target of shape [" + std::to_string(input.size(0)) + "] (one class per row of input " +
           shape_str(input.sizes()) + "), got " + shape_str(target.sizes());
  });
  check(is_integral(target.dtype(), false), op, loc, [&] {
    return "expected integer class indices as target, got " + std::string(dtype_name(target.dtype()));
  });
}

Tensor reduce(const Tensor& losses, const Tensor& denominator, Reduction r, Loc loc) {
  if (r == Reduction::None) return losses;
  Tensor total = losses.sum({}, false, std::nullopt, loc);
  return r == Reduction::Sum ? total : total.div(denominator, loc);
}

// Per-row loss terms of nll with class weights and ignore_index: -w[t] * logp[t], the weights
// and the mask of counted rows.
struct Picked {
  Tensor loss;    // [N], 0 for ignored rows
  Tensor weight;  // [N], w[target] (1 without weights), 0 for ignored rows
  Tensor counted; // [N] bool
};
Picked pick(const Tensor& logp, const Tensor& target, const Tensor& weight, int64_t ignore_index, Loc loc) {
  Tensor counted = target.ne(ignore_index, loc);
  Tensor safe = kiln::where(counted, target, zeros_like(target, {}, loc), loc).to(kInt64, loc);
  Tensor picked = logp.gather(1, safe.unsqueeze(1, loc), loc).squeeze(1, loc);
  Tensor w = weight.defined() ? weight.to(logp.dtype(), loc).index_select(0, safe, loc) : ones_like(picked, {}, loc);
  w = kiln::where(counted, w, zeros_like(w, {}, loc), loc);
  return {picked.neg(loc).mul(w, loc), w, counted};
}

void check_same_shape(const Tensor& input, const Tensor& target, const char* op, SourceLoc loc) {
  check(input.defined() && target.defined() && input.sizes() == target.sizes(), op, loc, [&] {
    return "input " + (input.defined() ? shape_str(input.sizes()) : std::string("undefined")) + " and target " +
           (target.defined() ? shape_str(target.sizes()) : std::string("undefined")) + " must have the same shape";
  });
}

// An elementwise loss reduced as the options say: the mean over every element, the sum, or none.
Tensor reduce_elementwise(const Tensor& losses, Reduction r, Loc loc) {
  if (r == Reduction::Mean) return losses.mean({}, false, loc);
  return reduce(losses, {}, r, loc);
}

}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossFuncOptions& o, Loc loc) {
  check_same_shape(input, target, "mse_loss", SourceLoc::from(loc));
  ir::CompositeScope composite("mse_loss");
  Tensor d = input.sub(target, 1, loc);
  return reduce_elementwise(d.mul(d, loc), o.reduction_, loc);
}

Tensor nll_loss(const Tensor& input, const Tensor& target, const NLLLossFuncOptions& o, Loc loc) {
  check_classes(input, target, "nll_loss", SourceLoc::from(loc));
  ir::CompositeScope composite("nll_loss");
  Picked p = pick(input, target, o.weight_, o.ignore_index_, loc);
  return reduce(p.loss, p.weight.sum({}, false, std::nullopt, loc), o.reduction_, loc);
}

Tensor cross_entropy(const Tensor& input, const Tensor& target, const CrossEntropyFuncOptions& o, Loc loc) {
  SourceLoc l = SourceLoc::from(loc);
  check_classes(input, target, "cross_entropy", l);
  check(o.label_smoothing_ >= 0 && o.label_smoothing_ <= 1, "cross_entropy", l, [&] {
    return "label_smoothing must be between 0.0 and 1.0, got " + std::to_string(o.label_smoothing_);
  });
  ir::CompositeScope composite("cross_entropy");
  Tensor logp = log_softmax(input, 1, std::nullopt, loc);
  Picked p = pick(logp, target, o.weight_, o.ignore_index_, loc);
  Tensor denominator = p.weight.sum({}, false, std::nullopt, loc);
  Tensor nll = reduce(p.loss, denominator, o.reduction_, loc);
  double s = o.label_smoothing_;
  if (s == 0) return nll;
  // -sum_c w_c log p_c per counted row, over the classes.
  Tensor class_weight = o.weight_.defined() ? o.weight_.to(logp.dtype(), loc) : ones({input.size(1)}, dtype(logp.dtype()), loc);
  Tensor smooth = logp.mul(class_weight, loc).sum({1}, false, std::nullopt, loc).neg(loc);
  smooth = kiln::where(p.counted, smooth, zeros_like(smooth, {}, loc), loc);
  Tensor smooth_reduced = reduce(smooth, denominator, o.reduction_, loc);
  return nll.mul(1 - s, loc).add(smooth_reduced.mul(s / static_cast<double>(input.size(1)), loc), 1, loc);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, const L1LossFuncOptions& o, Loc loc) {
  check_same_shape(input, target, "l1_loss", SourceLoc::from(loc));
  ir::CompositeScope composite("l1_loss");
  return reduce_elementwise(input.sub(target, 1, loc).abs(loc), o.reduction_, loc);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, const SmoothL1LossFuncOptions& o, Loc loc) {
  SourceLoc l = SourceLoc::from(loc);
  check_same_shape(input, target, "smooth_l1_loss", l);
  check(o.beta_ >= 0, "smooth_l1_loss", l, [&] { return "beta must be non-negative, got " + std::to_string(o.beta_); });
  ir::CompositeScope composite("smooth_l1_loss");
  Tensor d = input.sub(target, 1, loc).abs(loc);
  if (o.beta_ == 0) return reduce_elementwise(d, o.reduction_, loc);
  // 0.5 d^2 / beta below beta, d - 0.5 beta above.
  Tensor losses = kiln::where(d.lt(o.beta_, loc), d.mul(d, loc).mul(0.5 / o.beta_, loc), d.sub(0.5 * o.beta_, loc), loc);
  return reduce_elementwise(losses, o.reduction_, loc);
}

Tensor binary_cross_entropy(const Tensor& input, const Tensor& target, const BinaryCrossEntropyFuncOptions& o, Loc loc) {
  check_same_shape(input, target, "binary_cross_entropy", SourceLoc::from(loc));
  ir::CompositeScope composite("binary_cross_entropy");
  // PyTorch clamps each log at -100 so that p = 0 or 1 gives a finite loss.
  Tensor log_p = input.log(loc).clamp(-100, std::nullopt, loc);
  Tensor log_q = input.neg(loc).add(1, loc).log(loc).clamp(-100, std::nullopt, loc);
  Tensor losses = target.mul(log_p, loc).add(target.neg(loc).add(1, loc).mul(log_q, loc), 1, loc).neg(loc);
  if (o.weight_.defined()) losses = losses.mul(o.weight_, loc);
  return reduce_elementwise(losses, o.reduction_, loc);
}

Tensor binary_cross_entropy_with_logits(const Tensor& input, const Tensor& target,
                                        const BinaryCrossEntropyWithLogitsFuncOptions& o, Loc loc) {
  check_same_shape(input, target, "binary_cross_entropy_with_logits", SourceLoc::from(loc));
  ir::CompositeScope composite("binary_cross_entropy_with_logits");
  // -[pw * t * log s(x) + (1 - t) * log(1 - s(x))], with log s(x) = -softplus(-x) computed stably
  // as min(x, 0) - log(1 + exp(-|x|)), and log(1 - s(x)) = log s(x) - x.
  Tensor log_sigmoid = input.clamp(std::optional<Scalar>(), Scalar(0), loc).sub(input.abs(loc).neg(loc).exp(loc).add(1, loc).log(loc), 1, loc);
  Tensor log_one_minus = log_sigmoid.sub(input, 1, loc);
  Tensor positive = target.mul(log_sigmoid, loc);
  if (o.pos_weight_.defined()) positive = positive.mul(o.pos_weight_, loc);
  Tensor losses = positive.add(target.neg(loc).add(1, loc).mul(log_one_minus, loc), 1, loc).neg(loc);
  if (o.weight_.defined()) losses = losses.mul(o.weight_, loc);
  return reduce_elementwise(losses, o.reduction_, loc);
}

}  // namespace kiln::nn::functional
