// Everyday math that LibTorch offers and Kiln composes from its primitives: norms and moments,
// cumulative sums, logsumexp, closeness tests, sign, lerp and the small linear-algebra helpers.
// Each validates its operands under its own name first, then records primitives at the caller's
// line, so gradients, fusion and dumps follow from the primitives'.
#include <cmath>
#include <limits>

#include "frontend/recording.h"
#include "ir/composite.h"
#include "kiln/autocast.h"
#include "kiln/functions.h"

namespace kiln {

namespace {

void check_floating(const Tensor& x, const char* op, SourceLoc loc) {
  detail::operand(x, op, loc);
  check(x.is_floating_point(), op, loc, [&] {
    return "expected a floating point input, got " + detail::describe(x);
  });
}

// The number of elements `dims` (all when empty) reduce together.
int64_t reduced_count(const Tensor& x, IntArrayRef dims, const char* op, SourceLoc loc) {
  if (dims.empty()) return x.numel();
  int64_t n = 1;
  for (int64_t d : dims) n *= x.sizes()[detail::check_dim(d, x.sizes(), op, loc)];
  return n;
}

}  // namespace

// p = 2 (the default), 1, inf, -inf, 0 (the count of nonzeros) or any other power.
Tensor Tensor::norm(std::optional<Scalar> p, IntArrayRef dims, bool keepdim, Loc call) const {
  ir::CompositeScope composite("norm");
  SourceLoc loc = SourceLoc::from(call);
  check_floating(*this, "norm", loc);
  double order = p ? p->to_double() : 2.0;
  Tensor a = abs(call);
  if (std::isinf(order)) {
    if (dims.empty()) return order > 0 ? a.amax({}, keepdim, call) : a.amin({}, keepdim, call);
    return order > 0 ? a.amax(dims, keepdim, call) : a.amin(dims, keepdim, call);
  }
  if (order == 0) return a.ne(0, call).to(dtype(), call).sum(dims, keepdim, std::nullopt, call);
  if (order == 1) return a.sum(dims, keepdim, std::nullopt, call);
  if (order == 2) return mul(*this, call).sum(dims, keepdim, std::nullopt, call).sqrt(call);
  return a.pow(order, call).sum(dims, keepdim, std::nullopt, call).pow(1.0 / order, call);
}
Tensor Tensor::norm(const Scalar& p, Loc loc) const { return norm(p, {}, false, loc); }

// Variance with Bessel's correction `correction` (1: unbiased, 0: the population's).
Tensor Tensor::var(IntArrayRef dims, std::optional<int64_t> correction, bool keepdim, Loc call) const {
  ir::CompositeScope composite("var");
  SourceLoc loc = SourceLoc::from(call);
  check_floating(*this, "var", loc);
  int64_t n = reduced_count(*this, dims, "var", loc);
  Tensor centered = sub(mean(dims, true, call), 1, call);
  Tensor squares = centered.mul(centered, call).sum(dims, keepdim, std::nullopt, call);
  // n - correction <= 0 gives inf or nan, as PyTorch (with its warning).
  return squares.div(static_cast<double>(n - correction.value_or(1)), call);
}
Tensor Tensor::var(IntArrayRef dims, bool unbiased, bool keepdim, Loc loc) const {
  return var(dims, std::optional<int64_t>(unbiased ? 1 : 0), keepdim, loc);
}
Tensor Tensor::var_all(bool unbiased, Loc loc) const { return var({}, std::optional<int64_t>(unbiased ? 1 : 0), false, loc); }
Tensor Tensor::std(IntArrayRef dims, std::optional<int64_t> correction, bool keepdim, Loc loc) const {
  return var(dims, correction, keepdim, loc).sqrt(loc);
}
Tensor Tensor::std(IntArrayRef dims, bool unbiased, bool keepdim, Loc loc) const {
  return var(dims, unbiased, keepdim, loc).sqrt(loc);
}

// Hillis-Steele: log2(n) shifted adds, each a pad of a slice, so the scan fuses into one kernel
// per step (or fewer) and differentiates through pad and slice.
Tensor Tensor::cumsum(int64_t dim, std::optional<ScalarType> dtype, Loc call) const {
  ir::CompositeScope composite("cumsum");
  SourceLoc loc = SourceLoc::from(call);
  const ir::NodePtr& x = detail::operand(*this, "cumsum", loc);
  if (x->shape.empty()) return to(dtype.value_or(is_floating(x->dtype) ? x->dtype : kInt64), call);
  int64_t axis = detail::check_dim(dim, x->shape, "cumsum", loc);
  ScalarType t = dtype.value_or(is_floating(x->dtype) ? x->dtype : kInt64);
  ir::NodePtr acc = detail::cast_to(x, t, loc);
  int64_t n = x->shape[axis];
  for (int64_t shift = 1; shift < n; shift *= 2) {
    Shape starts(x->shape.size(), 0), stops = x->shape, steps(x->shape.size(), 1);
    stops[axis] = n - shift;
    std::vector<int64_t> low(x->shape.size(), 0), high(x->shape.size(), 0), interior(x->shape.size(), 0);
    low[axis] = shift;
    ir::NodePtr shifted = ir::pad(ir::slice(acc, starts, stops, steps, loc), low, high, interior, 0, loc);
    acc = ir::binary(ir::Op::Add, acc, shifted, loc);
  }
  return detail::make_tensor(acc);
}

// log(sum(exp(x))) computed around the maximum, which an all -inf line replaces by 0.
Tensor Tensor::logsumexp(IntArrayRef dims, bool keepdim, Loc call) const {
  ir::CompositeScope composite("logsumexp");
  SourceLoc loc = SourceLoc::from(call);
  Tensor x = is_floating_point() ? *this : to(get_default_dtype(), call);
  detail::operand(x, "logsumexp", loc);
  Tensor m = x.amax(dims, true, call).detach();
  m = kiln::where(m.isinf(call), 0.0, m, call);
  Tensor out = x.sub(m, 1, call).exp(call).sum(dims, true, std::nullopt, call).log(call).add(m, 1, call);
  if (keepdim || x.dim() == 0) return out;
  std::vector<int64_t> shape;
  std::vector<bool> reduced(x.dim(), dims.empty());
  for (int64_t d : dims) reduced[detail::check_dim(d, x.sizes(), "logsumexp", loc)] = true;
  for (int64_t k = 0; k < x.dim(); ++k)
    if (!reduced[k]) shape.push_back(x.sizes()[k]);
  return out.reshape(shape, call);
}

Tensor Tensor::isnan(Loc loc) const {
  detail::operand(*this, "isnan", SourceLoc::from(loc));
  return is_floating_point() ? ne(*this, loc) : zeros_like(*this, kiln::dtype(kBool), loc);
}
Tensor Tensor::isinf(Loc loc) const {
  detail::operand(*this, "isinf", SourceLoc::from(loc));
  return is_floating_point() ? abs(loc).eq(std::numeric_limits<double>::infinity(), loc)
                             : zeros_like(*this, kiln::dtype(kBool), loc);
}
Tensor Tensor::isfinite(Loc loc) const {
  detail::operand(*this, "isfinite", SourceLoc::from(loc));
  return is_floating_point() ? sub(*this, 1, loc).eq(0, loc) : ones_like(*this, kiln::dtype(kBool), loc);
}

// -1, 0 or 1 in the input's dtype (NaN stays NaN, as PyTorch's sign).
Tensor Tensor::sign(Loc loc) const {
  detail::operand(*this, "sign", SourceLoc::from(loc));
  if (dtype() == kBool) return *this;
  Tensor s = gt(0, loc).to(dtype(), loc).sub(lt(0, loc).to(dtype(), loc), 1, loc);
  return is_floating_point() ? kiln::where(isnan(loc), *this, s, loc) : s;
}

// |a - b| <= atol + rtol * |b|, with equal infinities close and NaNs close only if equal_nan.
Tensor Tensor::isclose(const Tensor& other, double rtol, double atol, bool equal_nan, Loc call) const {
  ir::CompositeScope composite("isclose");
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "isclose", loc);
  detail::operand(other, "isclose", loc);
  check(dtype() == other.dtype(), "isclose", loc, [&] {
    return std::string(dtype_name(dtype())) + " did not match " + std::string(dtype_name(other.dtype()));
  });
  Tensor equal = eq(other, call);
  if (!is_floating_point()) return equal;
  Tensor close = sub(other, 1, call).abs(call).le(other.abs(call).mul(rtol, call).add(atol, call), call);
  Tensor finite_close = logical_and(close, logical_and(isfinite(call), other.isfinite(call), call), call);
  Tensor result = logical_or(equal, finite_close, call);
  return equal_nan ? logical_or(result, logical_and(isnan(call), other.isnan(call), call), call) : result;
}

bool Tensor::allclose(const Tensor& other, double rtol, double atol, bool equal_nan, Loc loc) const {
  return isclose(other, rtol, atol, equal_nan, loc).all(loc).item<bool>(loc);
}

bool Tensor::equal(const Tensor& other, Loc loc) const {
  SourceLoc l = SourceLoc::from(loc);
  detail::operand(*this, "equal", l);
  detail::operand(other, "equal", l);
  if (sizes() != other.sizes()) return false;
  return eq(other, loc).all(loc).item<bool>(loc);
}

Tensor Tensor::lerp(const Tensor& end, const Scalar& weight, Loc loc) const {
  return add(end.sub(*this, 1, loc).mul(weight, loc), 1, loc);
}
Tensor Tensor::lerp(const Tensor& end, const Tensor& weight, Loc loc) const {
  return add(end.sub(*this, 1, loc).mul(weight, loc), 1, loc);
}

Tensor Tensor::clamp(const std::optional<Tensor>& min, const std::optional<Tensor>& max, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  check(min || max, "clamp", loc, "at least one of 'min' or 'max' must not be None");
  Tensor out = *this;
  if (min) out = kiln::where(out.lt(*min, call), *min, out, call);
  if (max) out = kiln::where(out.gt(*max, call), *max, out, call);
  return out;
}

Tensor Tensor::addmm(const Tensor& mat1, const Tensor& mat2, const Scalar& beta, const Scalar& alpha,
                     Loc call) const {
  ir::CompositeScope composite("addmm");
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(mat1, "addmm", loc);
  detail::operand(mat2, "addmm", loc);
  check(mat1.dim() == 2 && mat2.dim() == 2, "addmm", loc, [&] {
    return "expected 2-D matrices, got " + detail::describe(mat1) + " and " + detail::describe(mat2);
  });
  Tensor product = mat1.mm(mat2, call);
  Tensor scaled = alpha.to_double() == 1 ? product : product.mul(alpha, call);
  if (beta.to_double() == 0) return scaled;  // self is ignored, NaNs included, as PyTorch
  Tensor self = autocast::cast(*this, call);  // under autocast, all three in its dtype (as torch)
  return (beta.to_double() == 1 ? self : self.mul(beta, call)).add(scaled, 1, call);
}

Tensor Tensor::bmm(const Tensor& other, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "bmm", loc);
  detail::operand(other, "bmm", loc);
  check(dim() == 3 && other.dim() == 3 && sizes()[0] == other.sizes()[0], "bmm", loc, [&] {
    return "expected 3-D tensors with equal batch sizes, got " + detail::describe(*this) + " and " +
           detail::describe(other);
  });
  return matmul(other, call);
}

Tensor Tensor::outer(const Tensor& other, Loc call) const {
  ir::CompositeScope composite("outer");
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "outer", loc);
  detail::operand(other, "outer", loc);
  check(dim() == 1 && other.dim() == 1, "outer", loc, [&] {
    return "expected 1-D vectors, got " + detail::describe(*this) + " and " + detail::describe(other);
  });
  return unsqueeze(1, call).mul(other.unsqueeze(0, call), call);
}

Tensor norm(const Tensor& x, std::optional<Scalar> p, IntArrayRef dims, bool keepdim, Loc loc) {
  return x.norm(p, dims, keepdim, loc);
}
Tensor var(const Tensor& x, IntArrayRef dims, bool unbiased, bool keepdim, Loc loc) {
  return x.var(dims, unbiased, keepdim, loc);
}
Tensor std(const Tensor& x, IntArrayRef dims, bool unbiased, bool keepdim, Loc loc) {
  return x.std(dims, unbiased, keepdim, loc);
}
Tensor cumsum(const Tensor& x, int64_t dim, std::optional<ScalarType> dtype, Loc loc) { return x.cumsum(dim, dtype, loc); }
Tensor logsumexp(const Tensor& x, IntArrayRef dims, bool keepdim, Loc loc) { return x.logsumexp(dims, keepdim, loc); }
Tensor isnan(const Tensor& x, Loc loc) { return x.isnan(loc); }
Tensor isinf(const Tensor& x, Loc loc) { return x.isinf(loc); }
Tensor isfinite(const Tensor& x, Loc loc) { return x.isfinite(loc); }
Tensor sign(const Tensor& x, Loc loc) { return x.sign(loc); }
Tensor isclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan, Loc loc) {
  return a.isclose(b, rtol, atol, equal_nan, loc);
}
bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol, bool equal_nan, Loc loc) {
  return a.allclose(b, rtol, atol, equal_nan, loc);
}
bool equal(const Tensor& a, const Tensor& b, Loc loc) { return a.equal(b, loc); }
Tensor lerp(const Tensor& start, const Tensor& end, const Scalar& weight, Loc loc) { return start.lerp(end, weight, loc); }
Tensor lerp(const Tensor& start, const Tensor& end, const Tensor& weight, Loc loc) { return start.lerp(end, weight, loc); }
Tensor clamp(const Tensor& x, const std::optional<Tensor>& min, const std::optional<Tensor>& max, Loc loc) {
  return x.clamp(min, max, loc);
}
Tensor addmm(const Tensor& self, const Tensor& mat1, const Tensor& mat2, const Scalar& beta, const Scalar& alpha,
             Loc loc) {
  return self.addmm(mat1, mat2, beta, alpha, loc);
}
Tensor bmm(const Tensor& a, const Tensor& b, Loc loc) { return a.bmm(b, loc); }
Tensor outer(const Tensor& a, const Tensor& b, Loc loc) { return a.outer(b, loc); }

}  // namespace kiln
