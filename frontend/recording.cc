#include "frontend/recording.h"

#include "runtime/cuda/driver.h"

namespace kiln::detail {

const ir::NodePtr& operand(const Tensor& t, const char* op, SourceLoc loc) {
  check(t.defined(), op, loc, "got an undefined tensor");
  return t.impl()->node();
}

std::string describe(const Tensor& t) { return std::string(dtype_name(t.dtype())) + shape_str(t.sizes()); }

ir::NodePtr broadcast_to(ir::NodePtr x, const Shape& shape, SourceLoc loc) {
  if (x->shape == shape) return x;
  if (x->shape.size() < shape.size()) {
    Shape padded(shape.size() - x->shape.size(), 1);
    padded.insert(padded.end(), x->shape.begin(), x->shape.end());
    x = ir::reshape(std::move(x), std::move(padded), loc);
  }
  return x->shape == shape ? x : ir::expand(std::move(x), shape, loc);
}

ir::NodePtr cast_to(ir::NodePtr x, ScalarType t, SourceLoc loc) {
  return x->dtype == t ? x : ir::cast(std::move(x), t, loc);
}

ir::NodePtr constant(const Scalar& value, const Shape& shape, ScalarType t, SourceLoc loc, Device device) {
  return ir::full(value, shape, t, loc, device);
}

ir::NodePtr scalar_input(const Scalar& value, const Shape& shape, ScalarType t, SourceLoc loc, Device device) {
  // Of the result's rank, so one expand broadcasts it.
  return broadcast_to(ir::scalar_buffer(value, shape.size(), t, loc, device), shape, loc);
}

Shape broadcast_all(const std::vector<Shape>& shapes, const char* op, SourceLoc loc) {
  Shape out;
  bool ok = true;
  for (const Shape& s : shapes) ok = ok && broadcast_shapes(out, s, out);
  check(ok, op, loc, [&] {
    std::string list;
    for (const Shape& s : shapes) list += (list.empty() ? "" : " and ") + shape_str(s);
    return "shapes " + list + " cannot be broadcast together";
  });
  return out;
}

int64_t check_dim(int64_t dim, const Shape& shape, const char* op, SourceLoc loc) {
  int64_t d = dim;
  check(normalize_axis(d, static_cast<int64_t>(shape.size())), op, loc, [&] {
    return "dimension " + std::to_string(dim) + " is out of range for a tensor of shape " + shape_str(shape);
  });
  return d;
}

void check_device(Device d, const char* op, SourceLoc loc) {
  if (d.is_cpu()) {
    check(d.index() <= 0, op, loc, [&] { return "there is one CPU device (cpu or cpu:0), got " + d.str(); });
    return;
  }
  const runtime::cuda::DriverStatus& cuda = runtime::cuda::driver();
  check(cuda.device_count > 0, op, loc, [&] {
    return "device " + d.str() + " requested, but CUDA is not available (kiln::cuda::is_available() is false: " +
           cuda.reason + ")";
  });
  check(d.index() < cuda.device_count, op, loc, [&] {
    return "device " + d.str() + " requested, but this machine has " + std::to_string(cuda.device_count) +
           " CUDA device(s)";
  });
}

}  // namespace kiln::detail
