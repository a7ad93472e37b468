// Reductions and the normalizations built from them (softmax, log_softmax).
#include <algorithm>

#include "frontend/custom_gradient.h"
#include "frontend/recording.h"
#include "ir/composite.h"
#include "ir/grad_mode.h"
#include "kiln/functions.h"

namespace kiln {

using detail::operand;
using ir::Op;

namespace {

// Normalized, sorted, distinct axes; all axes when `dims` is empty.
std::vector<int64_t> reduction_axes(IntArrayRef dims, const Shape& shape, const char* op, SourceLoc loc) {
  std::vector<int64_t> axes;
  if (shape.empty()) {  // a 0-dim tensor reduces over nothing; dims 0 and -1 are accepted
    for (int64_t d : dims) detail::check_dim(d, shape, op, loc);
    return axes;
  }
  if (dims.empty()) {
    for (size_t i = 0; i < shape.size(); ++i) axes.push_back(static_cast<int64_t>(i));
    return axes;
  }
  for (int64_t d : dims) {
    int64_t a = detail::check_dim(d, shape, op, loc);
    check(std::find(axes.begin(), axes.end(), a) == axes.end(), op, loc,
          [&] { return "dim " + std::to_string(a) + " appears multiple times in the list of dims"; });
    axes.push_back(a);
  }
  std::sort(axes.begin(), axes.end());
  return axes;
}

// The shape after reducing `axes`, dropping them unless `keepdim`.
Shape reduced_shape(const Shape& shape, const std::vector<int64_t>& axes, bool keepdim) {
  Shape out;
  for (size_t i = 0; i < shape.size(); ++i) {
    bool reduced = std::binary_search(axes.begin(), axes.end(), static_cast<int64_t>(i));
    if (!reduced) out.push_back(shape[i]);
    else if (keepdim) out.push_back(1);
  }
  return out;
}

ir::NodePtr reduce(Op op, ir::NodePtr x, const std::vector<int64_t>& axes, bool keepdim, SourceLoc loc) {
  Shape target = reduced_shape(x->shape, axes, keepdim);
  ir::NodePtr r = ir::reduce(op, std::move(x), axes, loc);
  return r->shape == target ? r : ir::reshape(std::move(r), std::move(target), loc);
}

// Reduces over one axis keeping it, so the result broadcasts back against `x`.
ir::NodePtr reduce_keep(Op op, const ir::NodePtr& x, int64_t axis, SourceLoc loc) {
  if (x->shape.empty()) return x;
  return ir::reduce(op, x, {axis}, loc);
}

void check_nonempty_extreme(const Tensor& self, const std::vector<int64_t>& axes, const char* op, SourceLoc loc) {
  for (int64_t a : axes)
    check(self.sizes()[a] != 0, op, loc, [&] {
      return "cannot reduce over dimension " + std::to_string(a) + " of size 0 (shape " + shape_str(self.sizes()) +
             "): the operation has no identity";
    });
}

Tensor extreme(const Tensor& self, Op op, const char* name, SourceLoc loc) {
  const ir::NodePtr& x = operand(self, name, loc);
  std::vector<int64_t> axes = reduction_axes({}, x->shape, name, loc);
  check(self.numel() != 0, name, loc, [&] {
    return "expected reduction dim to be specified for an empty input (shape " + shape_str(self.sizes()) + ")";
  });
  return detail::make_tensor(reduce(op, x, axes, false, loc));
}

// max(dim)'s values with PyTorch's gradient: all of it to the returned index (the first of tied
// extremes), where reduce_max's own rule would share it between ties.
ir::NodePtr with_gradient_to_index(Op value_op, const ir::NodePtr& x, const ir::NodePtr& index, int64_t axis,
                                   SourceLoc loc) {
  auto rule = std::make_shared<detail::FunctionGradient>();
  rule->inputs = {x};
  rule->fn = [shape = x->shape, index, axis, loc](const std::vector<ir::NodePtr>& g) -> std::vector<ir::NodePtr> {
    Shape line(shape.size(), 1);
    line[axis] = shape[axis];
    ir::NodePtr position = ir::reshape(ir::iota(0, 1, {shape[axis]}, kInt64, loc, index->device), line, loc);
    ir::NodePtr hit = ir::binary(Op::Eq, detail::broadcast_to(position, shape, loc),
                                 detail::broadcast_to(index, shape, loc), loc);
    ir::NodePtr zero = detail::constant(0, shape, g[0]->dtype, loc, g[0]->device);
    return {ir::where(hit, detail::broadcast_to(g[0], shape, loc), zero, loc)};
  };
  ir::NodePtr value;
  {
    ir::GradModeGuard no_grad(false);
    value = ir::reduce(value_op, x, {axis}, loc);
  }
  return detail::attach_gradient({value}, rule)[0];
}

std::tuple<Tensor, Tensor> extreme_along(const Tensor& self, Op value_op, Op index_op, int64_t dim, bool keepdim,
                                         const char* name, SourceLoc loc) {
  const ir::NodePtr& x = operand(self, name, loc);
  std::vector<int64_t> axes = reduction_axes({dim}, x->shape, name, loc);
  check_nonempty_extreme(self, axes, name, loc);
  if (axes.empty()) return {self, detail::make_tensor(detail::constant(0, {}, kInt64, loc, x->device))};
  ir::NodePtr index = ir::reduce(index_op, x, axes, loc);
  ir::NodePtr value = ir::grad_mode_enabled() && x->grad != ir::Grad::None
                          ? with_gradient_to_index(value_op, x, index, axes[0], loc)
                          : ir::reduce(value_op, x, axes, loc);
  Shape target = reduced_shape(x->shape, axes, keepdim);
  auto drop = [&](ir::NodePtr n) { return n->shape == target ? n : ir::reshape(std::move(n), target, loc); };
  return {detail::make_tensor(drop(value)), detail::make_tensor(drop(index))};
}

Tensor arg_extreme(const Tensor& self, Op op, std::optional<int64_t> dim, bool keepdim, const char* name,
                   SourceLoc loc) {
  const ir::NodePtr& x = operand(self, name, loc);
  if (!dim) {
    check(self.numel() != 0, name, loc, "expected reduction dim to be specified for an empty input");
    ir::NodePtr flat = ir::reshape(x, {self.numel()}, loc);
    Shape target = keepdim ? Shape(x->shape.size(), 1) : Shape{};
    return detail::make_tensor(ir::reshape(ir::reduce(op, flat, {0}, loc), target, loc));
  }
  std::vector<int64_t> axes = reduction_axes({*dim}, x->shape, name, loc);
  check_nonempty_extreme(self, axes, name, loc);
  if (axes.empty()) return detail::make_tensor(detail::constant(0, {}, kInt64, loc, x->device));
  return detail::make_tensor(reduce(op, x, axes, keepdim, loc));
}

// The dtype softmax and log_softmax produce: `dtype`, else x's. float16 and bfloat16 results are
// computed in float32 and rounded once, as ATen's CPU kernels do.
ScalarType result_dtype(const Tensor& x, std::optional<ScalarType> dtype, const char* name, SourceLoc loc) {
  return dtype.value_or(operand(x, name, loc)->dtype);
}

// Softmax's shared part: x - max(x) along `axis`, in the requested floating dtype. The shift
// cancels in the result, so no gradient flows through the max (as JAX's stop_gradient there).
ir::NodePtr shifted(const Tensor& self, int64_t dim, std::optional<ScalarType> dtype, const char* name,
                    SourceLoc loc, int64_t& axis) {
  const ir::NodePtr& in = operand(self, name, loc);
  ScalarType t = dtype.value_or(in->dtype);
  check(is_floating(t), name, loc, [&] {
    return "expects a floating point input or dtype, got " + std::string(dtype_name(t));
  });
  axis = detail::check_dim(dim, in->shape, name, loc);
  ir::NodePtr x = detail::cast_to(in, t, loc);
  ir::NodePtr m = detail::cut_gradient(reduce_keep(Op::ReduceMax, x, axis, loc), loc);
  return ir::binary(Op::Sub, x, detail::broadcast_to(m, x->shape, loc), loc);
}

// One reduction primitive over `dims` (all when empty) of self cast to `t` (its own dtype when
// unset), named `name` in errors and dumps.
Tensor reduce_as(const Tensor& self, Op op, IntArrayRef dims, bool keepdim, std::optional<ScalarType> t,
                 const char* name, Loc call) {
  ir::CompositeScope composite(name);
  SourceLoc loc = SourceLoc::from(call);
  const ir::NodePtr& x = operand(self, name, loc);
  std::vector<int64_t> axes = reduction_axes(dims, x->shape, name, loc);
  if (op == Op::ReduceMax || op == Op::ReduceMin) check_nonempty_extreme(self, axes, name, loc);
  return detail::make_tensor(reduce(op, detail::cast_to(x, t.value_or(x->dtype), loc), axes, keepdim, loc));
}

// torch.sum and torch.prod: bool and integer inputs accumulate as int64.
ScalarType product_type(const Tensor& x, std::optional<ScalarType> dtype) {
  return dtype.value_or(x.defined() && x.is_floating_point() ? x.dtype() : kInt64);
}

}  // namespace

Tensor Tensor::sum(IntArrayRef dims, bool keepdim, std::optional<ScalarType> dtype, Loc loc) const {
  return reduce_as(*this, Op::ReduceSum, dims, keepdim, product_type(*this, dtype), "sum", loc);
}

Tensor Tensor::mean(IntArrayRef dims, bool keepdim, Loc call) const {
  ir::CompositeScope composite("mean");
  SourceLoc loc = SourceLoc::from(call);
  const ir::NodePtr& x = operand(*this, "mean", loc);
  check(is_floating(x->dtype), "mean", loc, [&] {
    return "could not infer output dtype: input dtype must be floating point, got " +
           std::string(dtype_name(x->dtype));
  });
  // float16/bfloat16 as ATen: cast to float32, sum, divide, round once.
  if (is_reduced_float(x->dtype)) return to(kFloat32, call).mean(dims, keepdim, call).to(x->dtype, call);
  std::vector<int64_t> axes = reduction_axes(dims, x->shape, "mean", loc);
  int64_t count = 1;
  for (int64_t a : axes) count *= x->shape[a];
  ir::NodePtr total = reduce(Op::ReduceSum, x, axes, keepdim, loc);
  // The count is a runtime input: a new batch size changes it without compiling a kernel.
  ir::NodePtr n = detail::scalar_input(static_cast<double>(count), total->shape, x->dtype, loc, x->device);
  return detail::make_tensor(ir::binary(Op::Div, total, n, loc));
}

Tensor Tensor::prod(std::optional<ScalarType> dtype, Loc loc) const {
  return reduce_as(*this, Op::ReduceProd, {}, false, product_type(*this, dtype), "prod", loc);
}
Tensor Tensor::prod(int64_t dim, bool keepdim, std::optional<ScalarType> dtype, Loc loc) const {
  return reduce_as(*this, Op::ReduceProd, dim, keepdim, product_type(*this, dtype), "prod", loc);
}
// amax/amin: the extremes over `dims` (all when empty); ties share the gradient.
Tensor Tensor::amax(IntArrayRef dims, bool keepdim, Loc loc) const {
  return reduce_as(*this, Op::ReduceMax, dims, keepdim, std::nullopt, "amax", loc);
}
Tensor Tensor::amin(IntArrayRef dims, bool keepdim, Loc loc) const {
  return reduce_as(*this, Op::ReduceMin, dims, keepdim, std::nullopt, "amin", loc);
}
// all/any: reduce_min/reduce_max over bool (and, or).
Tensor Tensor::all(Loc loc) const { return reduce_as(*this, Op::ReduceMin, {}, false, kBool, "all", loc); }
Tensor Tensor::all(int64_t dim, bool keepdim, Loc loc) const {
  return reduce_as(*this, Op::ReduceMin, dim, keepdim, kBool, "all", loc);
}
Tensor Tensor::any(Loc loc) const { return reduce_as(*this, Op::ReduceMax, {}, false, kBool, "any", loc); }
Tensor Tensor::any(int64_t dim, bool keepdim, Loc loc) const {
  return reduce_as(*this, Op::ReduceMax, dim, keepdim, kBool, "any", loc);
}

Tensor Tensor::max(Loc loc) const {
  ir::CompositeScope composite("max");
  return extreme(*this, Op::ReduceMax, "max", SourceLoc::from(loc));
}
Tensor Tensor::min(Loc loc) const {
  ir::CompositeScope composite("min");
  return extreme(*this, Op::ReduceMin, "min", SourceLoc::from(loc));
}

std::tuple<Tensor, Tensor> Tensor::max(int64_t dim, bool keepdim, Loc loc) const {
  ir::CompositeScope composite("max");
  return extreme_along(*this, Op::ReduceMax, Op::ArgMax, dim, keepdim, "max", SourceLoc::from(loc));
}
std::tuple<Tensor, Tensor> Tensor::min(int64_t dim, bool keepdim, Loc loc) const {
  ir::CompositeScope composite("min");
  return extreme_along(*this, Op::ReduceMin, Op::ArgMin, dim, keepdim, "min", SourceLoc::from(loc));
}

Tensor Tensor::argmax(std::optional<int64_t> dim, bool keepdim, Loc loc) const {
  return arg_extreme(*this, Op::ArgMax, dim, keepdim, "argmax", SourceLoc::from(loc));
}
Tensor Tensor::argmin(std::optional<int64_t> dim, bool keepdim, Loc loc) const {
  return arg_extreme(*this, Op::ArgMin, dim, keepdim, "argmin", SourceLoc::from(loc));
}

Tensor sum(const Tensor& x, IntArrayRef dims, bool keepdim, Loc loc) { return x.sum(dims, keepdim, std::nullopt, loc); }
Tensor prod(const Tensor& x, std::optional<ScalarType> dtype, Loc loc) { return x.prod(dtype, loc); }
Tensor amax(const Tensor& x, IntArrayRef dims, bool keepdim, Loc loc) { return x.amax(dims, keepdim, loc); }
Tensor amin(const Tensor& x, IntArrayRef dims, bool keepdim, Loc loc) { return x.amin(dims, keepdim, loc); }
Tensor all(const Tensor& x, Loc loc) { return x.all(loc); }
Tensor any(const Tensor& x, Loc loc) { return x.any(loc); }
Tensor max(const Tensor& x, Loc loc) { return x.max(loc); }
Tensor min(const Tensor& x, Loc loc) { return x.min(loc); }
std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim, Loc loc) { return x.max(dim, keepdim, loc); }
std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim, Loc loc) { return x.min(dim, keepdim, loc); }
Tensor argmax(const Tensor& x, std::optional<int64_t> dim, bool keepdim, Loc loc) { return x.argmax(dim, keepdim, loc); }
Tensor argmin(const Tensor& x, std::optional<int64_t> dim, bool keepdim, Loc loc) { return x.argmin(dim, keepdim, loc); }
Tensor Tensor::softmax(int64_t dim, std::optional<ScalarType> dtype, Loc loc) const { return kiln::softmax(*this, dim, dtype, loc); }
Tensor Tensor::log_softmax(int64_t dim, std::optional<ScalarType> dtype, Loc loc) const {
  return kiln::log_softmax(*this, dim, dtype, loc);
}
Tensor mean(const Tensor& x, IntArrayRef dims, bool keepdim, Loc loc) { return x.mean(dims, keepdim, loc); }

Tensor softmax(const Tensor& x, int64_t dim, std::optional<ScalarType> dtype, Loc call) {
  ir::CompositeScope composite("softmax");
  SourceLoc loc = SourceLoc::from(call);
  if (ScalarType t = result_dtype(x, dtype, "softmax", loc); is_reduced_float(t))
    return softmax(x, dim, kFloat32, call).to(t, call);
  int64_t axis = 0;
  ir::NodePtr e = ir::unary(Op::Exp, shifted(x, dim, dtype, "softmax", loc, axis), loc);
  ir::NodePtr total = reduce_keep(Op::ReduceSum, e, axis, loc);
  // One reciprocal per row and a multiply per element, as PyTorch's vectorized softmax does.
  ir::NodePtr inverse = ir::binary(Op::Div, detail::constant(1, total->shape, total->dtype, loc, total->device), total, loc);
  return detail::make_tensor(ir::binary(Op::Mul, e, detail::broadcast_to(inverse, e->shape, loc), loc));
}

Tensor log_softmax(const Tensor& x, int64_t dim, std::optional<ScalarType> dtype, Loc call) {
  ir::CompositeScope composite("log_softmax");
  SourceLoc loc = SourceLoc::from(call);
  if (ScalarType t = result_dtype(x, dtype, "log_softmax", loc); is_reduced_float(t))
    return log_softmax(x, dim, kFloat32, call).to(t, call);
  int64_t axis = 0;
  ir::NodePtr s = shifted(x, dim, dtype, "log_softmax", loc, axis);
  ir::NodePtr total = reduce_keep(Op::ReduceSum, ir::unary(Op::Exp, s, loc), axis, loc);
  ir::NodePtr log_total = ir::unary(Op::Log, total, loc);
  return detail::make_tensor(ir::binary(Op::Sub, s, detail::broadcast_to(log_total, s->shape, loc), loc));
}

}  // namespace kiln
