#include "kiln/nn/functional.h"

#include "ir/composite.h"

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

}  // namespace

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias, Loc loc) {
  ir::CompositeScope composite("linear");
  Tensor out = input.matmul(weight.t(loc), loc);
  return bias.defined() ? out.add(bias, 1, loc) : out;
}

Tensor relu(const Tensor& input, Loc loc) { return kiln::relu(input, loc); }
Tensor gelu(const Tensor& input, Loc loc) { return kiln::gelu(input, "none", loc); }
Tensor silu(const Tensor& input, Loc loc) {
  ir::CompositeScope composite("silu");
  return input.mul(kiln::sigmoid(input, loc), loc);
}

Tensor dropout(const Tensor& input, const DropoutFuncOptions& o, Loc loc) {
  check(o.p_ >= 0 && o.p_ <= 1, "dropout", SourceLoc::from(loc), [&] {
    return "dropout probability has to be between 0 and 1, but got " + std::to_string(o.p_);
  });
  if (!o.training_ || o.p_ == 0) return input;
  ir::CompositeScope composite("dropout");
  if (o.p_ == 1) return input.mul(0, loc);
  Tensor keep = bernoulli(input, 1 - o.p_, loc);
  return input.mul(keep, loc).mul(1 / (1 - o.p_), loc);
}

Tensor layer_norm(const Tensor& input, const LayerNormFuncOptions& o, Loc loc) {
  SourceLoc l = SourceLoc::from(loc);
  const std::vector<int64_t>& shape = o.normalized_shape_;
  int64_t k = static_cast<int64_t>(shape.size());
  bool fits = input.defined() && input.dim() >= k && k > 0;
  for (int64_t i = 0; fits && i < k; ++i) fits = input.size(input.dim() - k + i) == shape[i];
  check(fits, "layer_norm", l, [&] {
    return "expected input with trailing shape " + shape_str(shape) + ", got " +
           (input.defined() ? shape_str(input.sizes()) : std::string("undefined"));
  });
  ir::CompositeScope composite("layer_norm");
  std::vector<int64_t> dims;
  for (int64_t i = input.dim() - k; i < input.dim(); ++i) dims.push_back(i);
  Tensor mean = input.mean(dims, true, loc);
  Tensor centered = input.sub(mean, 1, loc);
  Tensor var = centered.mul(centered, loc).mean(dims, true, loc);
  Tensor out = centered.mul(var.add(o.eps_, loc).rsqrt(loc), loc);
  if (o.weight_.defined()) out = out.mul(o.weight_, loc);
  if (o.bias_.defined()) out = out.add(o.bias_, 1, loc);
  return out;
}

Tensor embedding(const Tensor& input, const Tensor& weight, Loc loc) {
  SourceLoc l = SourceLoc::from(loc);
  check(input.defined() && is_integral(input.dtype(), false), "embedding", l, [&] {
    return "expected integer positions, got " + (input.defined() ? std::string(dtype_name(input.dtype())) : "undefined");
  });
  check(weight.defined() && weight.dim() == 2, "embedding", l, "expected a 2-D weight [num_embeddings, dim]");
  ir::CompositeScope composite("embedding");
  std::vector<int64_t> shape = input.sizes().vec();
  shape.push_back(weight.size(1));
  return weight.index_select(0, input.reshape({-1}, loc), loc).reshape(shape, loc);
}

Tensor one_hot(const Tensor& classes, int64_t num_classes, Loc loc) {
  SourceLoc l = SourceLoc::from(loc);
  check(classes.defined() && is_integral(classes.dtype(), false), "one_hot", l,
        "one_hot is only applicable to an integer index tensor");
  if (num_classes < 0) num_classes = classes.numel() == 0 ? 0 : classes.max(loc).item<int64_t>(loc) + 1;
  std::vector<int64_t> at = classes.sizes().vec();
  at.push_back(1);
  std::vector<int64_t> shape = classes.sizes().vec();
  shape.push_back(num_classes);
  Tensor positions = arange(num_classes, {}, loc);
  return classes.to(kInt64, loc).reshape(at, loc).expand(shape, loc).eq(positions.expand(shape, loc), loc).to(kInt64, loc);
}

Tensor mse_loss(const Tensor& input, const Tensor& target, const MSELossFuncOptions& o, Loc loc) {
  SourceLoc l = SourceLoc::from(loc);
  check(input.defined() && target.defined() && input.sizes() == target.sizes(), "mse_loss", l, [&] {
    return "input " + shape_str(input.sizes()) + " and target " + shape_str(target.sizes()) + " must have the same shape";
  });
  ir::CompositeScope composite("mse_loss");
  Tensor d = input.sub(target, 1, loc);
  Tensor squares = d.mul(d, loc);
  if (o.reduction_ == Reduction::Mean) return squares.mean({}, false, loc);
  return reduce(squares, {}, o.reduction_, loc);
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

}  // namespace kiln::nn::functional
