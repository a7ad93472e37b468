// In-place ops. Under lazy recording the tensor is rebound to the node computing its new value
// (a view writes it through to its base). The value is computed by the out-of-place op, then
// checked against PyTorch's rules: the result must keep the tensor's shape and a dtype castable
// to its own. Nothing changes when a check fails.
#include "frontend/recording.h"
#include "kiln/functions.h"

namespace kiln {

namespace {

Tensor& assign(const Tensor& handle, const Tensor& result, const char* op, SourceLoc loc) {
  Tensor& self = const_cast<Tensor&>(handle);  // in-place methods are const, as LibTorch's
  const ir::NodePtr& value = detail::node_of(result);
  check(value->shape == self.sizes(), op, loc, [&] {
    return "output with shape " + shape_str(self.sizes()) + " doesn't match the broadcast shape " +
           shape_str(value->shape);
  });
  check(can_cast(value->dtype, self.dtype()), op, loc, [&] {
    return "result type " + std::string(dtype_name(value->dtype)) + " can't be cast to the desired output type " +
           std::string(dtype_name(self.dtype()));
  });
  detail::impl(self).assign(detail::cast_to(value, self.dtype(), loc), op, loc);
  return self;
}

}  // namespace

Tensor& Tensor::add_(const Tensor& o, const Scalar& alpha, Loc loc) const {
  return assign(*this, add(o, alpha, loc), "add_", SourceLoc::from(loc));
}
Tensor& Tensor::add_(const Scalar& o, Loc loc) const { return assign(*this, add(o, loc), "add_", SourceLoc::from(loc)); }
Tensor& Tensor::sub_(const Tensor& o, const Scalar& alpha, Loc loc) const {
  return assign(*this, sub(o, alpha, loc), "sub_", SourceLoc::from(loc));
}
Tensor& Tensor::sub_(const Scalar& o, Loc loc) const { return assign(*this, sub(o, loc), "sub_", SourceLoc::from(loc)); }
Tensor& Tensor::mul_(const Tensor& o, Loc loc) const { return assign(*this, mul(o, loc), "mul_", SourceLoc::from(loc)); }
Tensor& Tensor::mul_(const Scalar& o, Loc loc) const { return assign(*this, mul(o, loc), "mul_", SourceLoc::from(loc)); }
Tensor& Tensor::div_(const Tensor& o, Loc loc) const { return assign(*this, div(o, loc), "div_", SourceLoc::from(loc)); }
Tensor& Tensor::div_(const Scalar& o, Loc loc) const { return assign(*this, div(o, loc), "div_", SourceLoc::from(loc)); }
Tensor& Tensor::clamp_(std::optional<Scalar> min, std::optional<Scalar> max, Loc loc) const {
  return assign(*this, clamp(min, max, loc), "clamp_", SourceLoc::from(loc));
}
Tensor& Tensor::zero_(Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "zero_", loc);
  return assign(*this, zeros_like(*this, {}, call), "zero_", loc);  // a constant zero, compiled in
}
Tensor& Tensor::fill_(const Scalar& value, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "fill_", loc);
  return assign(*this, full_like(*this, value.cast(dtype()), {}, call), "fill_", loc);
}
Tensor& Tensor::copy_(const Tensor& src, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  const ir::NodePtr& from = detail::operand(src, "copy_", loc);
  detail::operand(*this, "copy_", loc);
  Shape target;
  check(broadcast_shapes(from->shape, sizes(), target) && target == sizes(), "copy_", loc, [&] {
    return "source of shape " + shape_str(from->shape) + " cannot be broadcast to " + shape_str(sizes());
  });
  // copy_ converts any dtype, unlike the arithmetic in-place ops.
  ir::NodePtr value = detail::broadcast_to(detail::cast_to(from, dtype(), loc), sizes(), loc);
  detail::impl(*this).assign(std::move(value), "copy_", loc);
  return const_cast<Tensor&>(*this);
}

Tensor& operator+=(Tensor& a, TensorArg b) { return a.add_(b.t, 1, b.loc); }
Tensor& operator+=(Tensor& a, ScalarArg b) { return a.add_(b.s, b.loc); }
Tensor& operator-=(Tensor& a, TensorArg b) { return a.sub_(b.t, 1, b.loc); }
Tensor& operator-=(Tensor& a, ScalarArg b) { return a.sub_(b.s, b.loc); }
Tensor& operator*=(Tensor& a, TensorArg b) { return a.mul_(b.t, b.loc); }
Tensor& operator*=(Tensor& a, ScalarArg b) { return a.mul_(b.s, b.loc); }
Tensor& operator/=(Tensor& a, TensorArg b) { return a.div_(b.t, b.loc); }
Tensor& operator/=(Tensor& a, ScalarArg b) { return a.div_(b.s, b.loc); }

}  // namespace kiln
