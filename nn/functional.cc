#include "kiln/nn/functional.h"

#include <cstdint>

#include "ir/composite.h"

namespace kiln::nn::functional {

Tensor linear(const Tensor& input, const Tensor& weight, const Tensor& bias, Loc loc) {
  ir::CompositeScope composite("linear");
  // Under autocast the bias joins the product in the autocast dtype too, as torch's linear.
  Tensor out = autocast::cast(input, loc).matmul(autocast::cast(weight, loc).t(loc), loc);
  return bias.defined() ? out.add(autocast::cast(bias, loc), 1, loc) : out;
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
  if (is_reduced_float(input.dtype())) {  // computed in float32, rounded once (ATen's CPU kernel)
    auto widen = [&](const Tensor& t) { return t.defined() ? t.to(kFloat32, loc) : t; };
    LayerNormFuncOptions wide = o;
    wide.weight(widen(o.weight_)).bias(widen(o.bias_));
    return layer_norm(widen(input), wide, loc).to(input.dtype(), loc);
  }
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

namespace {
// The `before` and `after` elements that reflect, replicate or circular padding adds along `dim`.
std::pair<Tensor, Tensor> border(const Tensor& x, int64_t dim, int64_t before, int64_t after, PadMode mode, Loc loc) {
  int64_t n = x.size(dim);
  auto pick = [&](int64_t i) { return x.narrow(dim, i, 1, loc); };
  auto pieces = [&](int64_t count, auto index) {
    TensorList parts;
    for (int64_t k = 0; k < count; ++k) parts.push_back(pick(index(k)));
    return parts.empty() ? Tensor() : cat(parts, dim, loc);
  };
  switch (mode) {
    case PadMode::Reflect:  // mirror without repeating the edge: 2 1 | 0 1 2 3 | 2 1
      return {pieces(before, [&](int64_t k) { return before - k; }),
              pieces(after, [&](int64_t k) { return n - 2 - k; })};
    case PadMode::Replicate:
      return {pieces(before, [&](int64_t) { return int64_t{0}; }), pieces(after, [&](int64_t) { return n - 1; })};
    default:  // circular: the other end's elements
      return {pieces(before, [&](int64_t k) { return n - before + k; }), pieces(after, [&](int64_t k) { return k; })};
  }
}
}  // namespace

Tensor pad(const Tensor& input, const PadFuncOptions& o, Loc loc) {
  SourceLoc l = SourceLoc::from(loc);
  check(input.defined(), "pad", l, "input is undefined");
  if (o.mode_ == PadMode::Constant) return constant_pad_nd(input, o.pad_, o.value_, loc);
  int64_t dims = static_cast<int64_t>(o.pad_.size() / 2);
  check(o.pad_.size() % 2 == 0 && dims >= 1 && dims <= 3 && input.dim() >= dims + 1, "pad", l, [&] {
    return "non-constant padding takes 2, 4 or 6 pads for the last 1, 2 or 3 dims of a batched input, got " +
           std::to_string(o.pad_.size()) + " pads for input " + shape_str(input.sizes());
  });
  ir::CompositeScope composite("pad");
  Tensor x = input;
  for (int64_t i = 0; i < dims; ++i) {
    int64_t dim = input.dim() - 1 - i, before = o.pad_[2 * i], after = o.pad_[2 * i + 1], n = x.size(dim);
    int64_t limit = o.mode_ == PadMode::Reflect ? n - 1 : o.mode_ == PadMode::Circular ? n : INT64_MAX;
    check(before >= 0 && after >= 0 && before <= limit && after <= limit && n > 0, "pad", l, [&] {
      return "padding (" + std::to_string(before) + ", " + std::to_string(after) + ") of dimension " +
             std::to_string(dim) + " of size " + std::to_string(n) + " must be non-negative and " +
             (o.mode_ == PadMode::Reflect ? "smaller than" : "at most") + " the size for this mode";
    });
    auto [low, high] = border(x, dim, before, after, o.mode_, loc);
    TensorList parts;
    if (low.defined()) parts.push_back(low);
    parts.push_back(x);
    if (high.defined()) parts.push_back(high);
    x = cat(parts, dim, loc);
  }
  return x;
}

}  // namespace kiln::nn::functional
