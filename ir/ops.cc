#include "ir/ops.h"

#include <algorithm>
#include <string>

#include "ir/external_check.h"

namespace kiln::ir {

namespace {

NodePtr make(Op op, ScalarType dtype, Shape shape, std::vector<NodePtr> inputs, SourceLoc loc, Attrs attrs = {}) {
  for (const NodePtr& in : inputs)
    check(in->device == inputs[0]->device, std::string(op_name(op)).c_str(), loc, [&] {
      return "expected all tensors to be on the same device, but found at least two devices, " +
             inputs[0]->device.str() + " and " + in->device.str();
    });
  if (external_checks_enabled())
    for (const NodePtr& in : inputs) note_external_read(*in, loc);
  return std::make_shared<Node>(op, dtype, std::move(shape), std::move(inputs), std::move(attrs), loc);
}

NodePtr on(Device device, NodePtr n) {
  n->device = device;
  return n;
}

void check_rank(const Node& x, const std::vector<int64_t>& v, const char* op, SourceLoc loc) {
  check(v.size() == x.shape.size(), op, loc, [&] {
    return "expects one entry per axis of " + shape_str(x.shape) + ", got " + std::to_string(v.size());
  });
}

}  // namespace

NodePtr buffer(std::shared_ptr<Storage> storage, Shape shape, ScalarType dtype, SourceLoc loc, Device device) {
  check(storage && storage->bytes() >= static_cast<size_t>(kiln::numel(shape)) * element_size(dtype), "buffer",
        loc, "storage is smaller than the shape");
  NodePtr n = make(Op::Buffer, dtype, std::move(shape), {}, loc);
  n->storage = std::move(storage);
  n->reads_borrowed = n->storage->borrowed();
  n->device = device;
  return n;
}

NodePtr scalar_buffer(const Scalar& value, size_t rank, ScalarType dtype, SourceLoc loc, Device device) {
  auto storage = Storage::allocate(element_size(dtype));
  dispatch_dtype(dtype, [&]<typename T>() { *static_cast<T*>(storage->data()) = value.cast(dtype).to<T>(); });
  NodePtr n = buffer(std::move(storage), Shape(rank, 1), dtype, loc, device);
  n->runtime_scalar = true;
  return n;
}

NodePtr full(Scalar value, Shape shape, ScalarType dtype, SourceLoc loc, Device device) {
  Attrs a;
  a.value = value.cast(dtype);
  return on(device, make(Op::Full, dtype, std::move(shape), {}, loc, std::move(a)));
}

NodePtr iota(Scalar start, Scalar delta, Shape shape, ScalarType dtype, SourceLoc loc, Device device) {
  Attrs a;
  a.value = start;
  a.delta = delta;
  return on(device, make(Op::Iota, dtype, std::move(shape), {}, loc, std::move(a)));
}

NodePtr random(Distribution d, uint64_t seed, uint64_t offset, Shape shape, ScalarType dtype, SourceLoc loc,
               Device device) {
  check(is_floating(dtype), "random", loc, "needs a floating dtype");
  Attrs a;
  a.distribution = d;
  a.seed = seed;
  a.offset = offset;
  return on(device, make(Op::Random, dtype, std::move(shape), {}, loc, std::move(a)));
}

NodePtr transfer(NodePtr x, Device device, SourceLoc loc) {
  if (x->device == device) return x;
  ScalarType t = x->dtype;
  Shape s = x->shape;
  return on(device, make(Op::Transfer, t, std::move(s), {std::move(x)}, loc));
}

NodePtr unary(Op op, NodePtr x, SourceLoc loc) {
  check(op_kind(op) == OpKind::Unary, "unary", loc, "not a unary op");
  ScalarType t = x->dtype;
  Shape s = x->shape;
  return make(op, t, std::move(s), {std::move(x)}, loc);
}

NodePtr binary(Op op, NodePtr a, NodePtr b, SourceLoc loc) {
  OpKind k = op_kind(op);
  check(k == OpKind::Binary || k == OpKind::Compare, "binary", loc, "not a binary op");
  check(a->shape == b->shape && a->dtype == b->dtype, std::string(op_name(op)).c_str(), loc, [&] {
    return "operands differ: " + shape_str(a->shape) + " " + std::string(dtype_name(a->dtype)) + " vs " +
           shape_str(b->shape) + " " + std::string(dtype_name(b->dtype));
  });
  ScalarType t = k == OpKind::Compare ? kBool : a->dtype;
  Shape s = a->shape;
  return make(op, t, std::move(s), {std::move(a), std::move(b)}, loc);
}

NodePtr where(NodePtr cond, NodePtr a, NodePtr b, SourceLoc loc) {
  check(cond->dtype == kBool && cond->shape == a->shape && a->shape == b->shape && a->dtype == b->dtype, "where",
        loc, "operands must share one shape, with a bool condition and one value dtype");
  ScalarType t = a->dtype;
  Shape s = a->shape;
  return make(Op::Where, t, std::move(s), {std::move(cond), std::move(a), std::move(b)}, loc);
}

NodePtr cast(NodePtr x, ScalarType dtype, SourceLoc loc) {
  Shape s = x->shape;
  return make(Op::Cast, dtype, std::move(s), {std::move(x)}, loc);
}

NodePtr reduce(Op op, NodePtr x, std::vector<int64_t> axes, SourceLoc loc) {
  check(op_kind(op) == OpKind::Reduce, "reduce", loc, "not a reduction");
  const char* name = op_name(op).data();
  bool arg = op == Op::ArgMax || op == Op::ArgMin;
  check(!arg || axes.size() == 1, name, loc, "takes exactly one axis");
  Shape s = x->shape;
  std::sort(axes.begin(), axes.end());
  for (size_t i = 0; i < axes.size(); ++i) {
    check(axes[i] >= 0 && axes[i] < static_cast<int64_t>(s.size()) && (i == 0 || axes[i] != axes[i - 1]), name,
          loc, [&] { return "bad axis " + std::to_string(axes[i]) + " for " + shape_str(x->shape); });
    s[axes[i]] = 1;
  }
  ScalarType t = arg ? kInt64 : x->dtype;
  Attrs a;
  a.axes = std::move(axes);
  return make(op, t, std::move(s), {std::move(x)}, loc, std::move(a));
}

NodePtr reshape(NodePtr x, Shape shape, SourceLoc loc) {
  check(kiln::numel(shape) == x->numel(), "reshape", loc, [&] {
    return "cannot reshape " + shape_str(x->shape) + " to " + shape_str(shape);
  });
  ScalarType t = x->dtype;
  return make(Op::Reshape, t, std::move(shape), {std::move(x)}, loc);
}

NodePtr alias(NodePtr x, SourceLoc loc) {
  Shape s = x->shape;
  return reshape(std::move(x), std::move(s), loc);
}

std::vector<int64_t> inverse_permutation(const std::vector<int64_t>& perm) {
  std::vector<int64_t> inv(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) inv[perm[i]] = static_cast<int64_t>(i);
  return inv;
}

NodePtr permute(NodePtr x, std::vector<int64_t> perm, SourceLoc loc) {
  check_rank(*x, perm, "permute", loc);
  Shape s(perm.size());
  std::vector<bool> seen(perm.size());
  for (size_t i = 0; i < perm.size(); ++i) {
    check(perm[i] >= 0 && perm[i] < static_cast<int64_t>(perm.size()) && !seen[perm[i]], "permute", loc,
          "not a permutation");
    seen[perm[i]] = true;
    s[i] = x->shape[perm[i]];
  }
  ScalarType t = x->dtype;
  Attrs a;
  a.axes = std::move(perm);
  return make(Op::Permute, t, std::move(s), {std::move(x)}, loc, std::move(a));
}

NodePtr expand(NodePtr x, Shape shape, SourceLoc loc) {
  check_rank(*x, shape, "expand", loc);
  for (size_t i = 0; i < shape.size(); ++i)
    check(x->shape[i] == shape[i] || x->shape[i] == 1, "expand", loc, [&] {
      return "cannot expand " + shape_str(x->shape) + " to " + shape_str(shape);
    });
  ScalarType t = x->dtype;
  return make(Op::Expand, t, std::move(shape), {std::move(x)}, loc);
}

NodePtr slice(NodePtr x, std::vector<int64_t> starts, std::vector<int64_t> stops, std::vector<int64_t> steps,
              SourceLoc loc) {
  check_rank(*x, starts, "slice", loc);
  check_rank(*x, stops, "slice", loc);
  check_rank(*x, steps, "slice", loc);
  Shape s(starts.size());
  for (size_t i = 0; i < s.size(); ++i) {
    check(steps[i] > 0 && 0 <= starts[i] && starts[i] <= stops[i] && stops[i] <= x->shape[i], "slice", loc,
          [&] { return "bad bounds on axis " + std::to_string(i) + " of " + shape_str(x->shape); });
    s[i] = (stops[i] - starts[i] + steps[i] - 1) / steps[i];
  }
  ScalarType t = x->dtype;
  Attrs a;
  a.low = std::move(starts);
  a.step = std::move(steps);
  return make(Op::Slice, t, std::move(s), {std::move(x)}, loc, std::move(a));
}

NodePtr pad(NodePtr x, std::vector<int64_t> low, std::vector<int64_t> high, std::vector<int64_t> interior,
            Scalar value, SourceLoc loc) {
  check_rank(*x, low, "pad", loc);
  check_rank(*x, high, "pad", loc);
  check_rank(*x, interior, "pad", loc);
  Shape s(low.size());
  for (size_t i = 0; i < s.size(); ++i) {
    check(low[i] >= 0 && high[i] >= 0 && interior[i] >= 0, "pad", loc, "padding must be non-negative");
    int64_t n = x->shape[i];
    s[i] = low[i] + high[i] + n + (n > 0 ? (n - 1) * interior[i] : 0);
  }
  ScalarType t = x->dtype;
  Attrs a;
  a.low = std::move(low);
  a.high = std::move(high);
  a.interior = std::move(interior);
  a.value = value.cast(t);
  return make(Op::Pad, t, std::move(s), {std::move(x)}, loc, std::move(a));
}

NodePtr unslice(NodePtr x, const Shape& shape, const std::vector<int64_t>& starts, const std::vector<int64_t>& steps,
                Scalar value, SourceLoc loc) {
  check_rank(*x, starts, "unslice", loc);
  check_rank(*x, steps, "unslice", loc);
  std::vector<int64_t> high(shape.size()), interior(shape.size());
  for (size_t k = 0; k < shape.size(); ++k) {
    int64_t taken = x->shape[k];
    int64_t extent = taken > 0 ? (taken - 1) * steps[k] + 1 : 0;
    high[k] = shape[k] - starts[k] - extent;
    interior[k] = steps[k] - 1;
  }
  return pad(std::move(x), starts, std::move(high), std::move(interior), value, loc);
}

NodePtr concat(std::vector<NodePtr> xs, int64_t axis, SourceLoc loc) {
  check(!xs.empty(), "concat", loc, "needs at least one input");
  Shape s = xs[0]->shape;
  check(axis >= 0 && axis < static_cast<int64_t>(s.size()), "concat", loc, "bad axis");
  s[axis] = 0;
  int64_t total = 0;
  for (const NodePtr& x : xs) {
    Shape other = x->shape;
    check(other.size() == s.size() && x->dtype == xs[0]->dtype, "concat", loc, "inputs differ in rank or dtype");
    total += other[axis];
    other[axis] = 0;
    check(other == s, "concat", loc, "inputs differ off the concat axis");
  }
  s[axis] = total;
  ScalarType t = xs[0]->dtype;
  Attrs a;
  a.axes = {axis};
  return make(Op::Concat, t, std::move(s), std::move(xs), loc, std::move(a));
}

NodePtr matmul(NodePtr a, NodePtr b, SourceLoc loc) {
  const Shape& sa = a->shape;
  const Shape& sb = b->shape;
  size_t r = sa.size();
  check(r >= 2 && sb.size() == r && a->dtype == b->dtype && sa[r - 1] == sb[r - 2] &&
            std::equal(sa.begin(), sa.end() - 2, sb.begin()),
        "matmul", loc, [&] { return "operands " + shape_str(sa) + " and " + shape_str(sb) + " do not contract"; });
  Shape s = sa;
  s[r - 1] = sb[r - 1];
  ScalarType t = a->dtype;
  return make(Op::MatMul, t, std::move(s), {std::move(a), std::move(b)}, loc);
}

}  // namespace kiln::ir
