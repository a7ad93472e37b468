// Indexing by positions held in tensors: index_select, gather, take_along_dim, scatter,
// scatter_add, masked_fill, and Tensor::index / index_put_ over kiln::indexing's vocabulary.
//
// Positions in a tensor are values, not shapes, so they stay lazy: picking element r of an axis
// of size R is written as a one-hot selection, where(position == iota(R), x, 0) summed over R.
// That is differentiable (the gradient is the dual scatter), fuses with what computes x and the
// positions, and never reads out of bounds (a position outside [0, R) selects nothing, so it
// reads 0; PyTorch raises, which needs the values: Kiln checks positions that are already
// evaluated). The cost is R per picked element, as a gather primitive would avoid.
#include <algorithm>
#include <cstring>

#include "frontend/recording.h"
#include "ir/composite.h"
#include "kiln/functions.h"
#include "kiln/indexing.h"

namespace kiln {

using detail::operand;
using ir::NodePtr;
using ir::Op;

namespace indexing {
TensorIndex::TensorIndex(const char* s) : kind(kEllipsis) {
  check(s != nullptr && std::strcmp(s, "...") == 0, "index", {}, "the only string index is \"...\" (Ellipsis)");
}
}  // namespace indexing

namespace {

NodePtr zeros_of(const NodePtr& like, const Shape& shape, SourceLoc loc) {
  return detail::constant(0, shape, like->dtype, loc, like->device);
}

// Positions as int64, negative ones counting from the end of an axis of `size` (PyTorch's
// wrap-around), after checking already evaluated positions against the size.
NodePtr positions(const Tensor& index, int64_t size, bool wrap, const char* op, SourceLoc loc) {
  const NodePtr& n = operand(index, op, loc);
  check(is_integral(n->dtype, false), op, loc, [&] {
    return "expected an integer index tensor (int64), got " + detail::describe(index);
  });
  if (n->is_buffer() && n->numel() > 0) {
    std::vector<int64_t> v = index.to_vector<int64_t>();
    auto [lo, hi] = std::minmax_element(v.begin(), v.end());
    check(*hi < size && *lo >= (wrap ? -size : 0), op, loc, [&] {
      return "index " + std::to_string(*hi >= size ? *hi : *lo) + " is out of bounds for dimension with size " +
             std::to_string(size);
    });
  }
  NodePtr p = detail::cast_to(n, kInt64, loc);
  if (!wrap) return p;
  NodePtr negative = ir::binary(Op::Lt, p, zeros_of(p, p->shape, loc), loc);
  NodePtr lifted = ir::binary(Op::Add, p, detail::constant(size, p->shape, kInt64, loc, p->device), loc);
  return ir::where(negative, lifted, p, loc);
}

// Positions for Tensor::index and index_put_ (negative ones count from the end).
NodePtr positions_of(const Tensor& index, int64_t size, SourceLoc loc) { return positions(index, size, true, "index", loc); }

// out[..., k] = x[..., pos[..., k]] along the last axis of x (size R), for x of shape S + [R]
// and pos of shape S + [K] (S equal): where(pos == r, x, 0) summed over r.
NodePtr pick_last(const NodePtr& x, const NodePtr& pos, SourceLoc loc) {
  Shape s = pos->shape;
  int64_t r = x->shape.back();
  Shape domain = s;
  domain.push_back(r);  // S + [K] + [R]
  Shape x_at = x->shape;
  x_at.insert(x_at.end() - 1, 1);  // S + [1] + [R]
  NodePtr xs = ir::expand(ir::reshape(x, x_at, loc), domain, loc);
  Shape p_at = s;
  p_at.push_back(1);
  NodePtr ps = ir::expand(ir::reshape(pos, p_at, loc), domain, loc);
  Shape r_at(domain.size(), 1);
  r_at.back() = r;
  NodePtr iota = ir::expand(ir::reshape(ir::iota(0, 1, {r}, kInt64, loc, x->device), r_at, loc), domain, loc);
  NodePtr picked = ir::where(ir::binary(Op::Eq, ps, iota, loc), xs, zeros_of(x, domain, loc), loc);
  return ir::reshape(ir::reduce(Op::ReduceSum, picked, {static_cast<int64_t>(domain.size()) - 1}, loc), s, loc);
}

// x with axis `from` moved to position `to` (a permute node).
NodePtr move_axis(const NodePtr& x, int64_t from, int64_t to, SourceLoc loc) {
  std::vector<int64_t> perm;
  for (int64_t k = 0; k < static_cast<int64_t>(x->shape.size()); ++k)
    if (k != from) perm.push_back(k);
  perm.insert(perm.begin() + to, from);
  bool identity = true;
  for (size_t k = 0; k < perm.size(); ++k) identity &= perm[k] == static_cast<int64_t>(k);
  return identity ? x : ir::permute(x, perm, loc);
}

// gather's core: out has pos's shape; out[p] = x[p with axis `dim` replaced by pos[p]]. x is
// first cut to pos's extent on the other axes.
NodePtr gather_nodes(NodePtr x, int64_t dim, NodePtr pos, SourceLoc loc) {
  int64_t last = static_cast<int64_t>(x->shape.size()) - 1;
  Shape stops = pos->shape;
  stops[dim] = x->shape[dim];
  if (stops != x->shape) x = ir::slice(x, Shape(stops.size(), 0), stops, Shape(stops.size(), 1), loc);
  NodePtr out = pick_last(move_axis(x, dim, last, loc), move_axis(pos, dim, last, loc), loc);
  return move_axis(out, last, dim, loc);
}

}  // namespace

Tensor Tensor::index_select(int64_t dim, const Tensor& index, Loc call) const {
  ir::CompositeScope composite("index_select");
  SourceLoc loc = SourceLoc::from(call);
  const NodePtr& x = operand(*this, "index_select", loc);
  Shape shape = x->shape.empty() ? Shape{1} : x->shape;
  int64_t axis = detail::check_dim(dim, shape, "index_select", loc);
  check(index.defined() && index.dim() <= 1, "index_select", loc, [&] {
    return "index must be a 0-D or 1-D tensor, got " + (index.defined() ? detail::describe(index) : "undefined");
  });
  NodePtr pos = positions(index, shape[axis], false, "index_select", loc);
  int64_t k = pos->numel();
  // out[..., j, ...] = x[..., pos[j], ...]: gather with pos broadcast over the other axes.
  NodePtr in = x->shape.empty() ? ir::reshape(x, shape, loc) : x;
  Shape at(shape.size(), 1), target = shape;
  at[axis] = k;
  target[axis] = k;
  NodePtr spread = ir::expand(ir::reshape(pos, at, loc), target, loc);
  NodePtr out = gather_nodes(in, axis, spread, loc);
  if (x->shape.empty()) out = ir::reshape(out, index.dim() == 0 ? Shape{} : Shape{k}, loc);
  return detail::make_tensor(out);
}

Tensor Tensor::gather(int64_t dim, const Tensor& index, Loc call) const {
  ir::CompositeScope composite("gather");
  SourceLoc loc = SourceLoc::from(call);
  const NodePtr& x = operand(*this, "gather", loc);
  const NodePtr& i = operand(index, "gather", loc);
  int64_t axis = detail::check_dim(dim, x->shape, "gather", loc);
  bool fits = i->shape.size() == x->shape.size();
  for (size_t k = 0; fits && k < x->shape.size(); ++k) fits = static_cast<int64_t>(k) == axis || i->shape[k] <= x->shape[k];
  check(fits, "gather", loc, [&] {
    return "index " + detail::describe(index) + " must have the input's rank and no larger size than input " +
           detail::describe(*this) + " on dimensions other than " + std::to_string(axis);
  });
  if (x->shape.empty()) return *this;
  return detail::make_tensor(gather_nodes(x, axis, positions(index, x->shape[axis], false, "gather", loc), loc));
}

Tensor Tensor::take_along_dim(const Tensor& indices, std::optional<int64_t> dim, Loc call) const {
  ir::CompositeScope composite("take_along_dim");
  SourceLoc loc = SourceLoc::from(call);
  if (!dim) return reshape({-1}, call).gather(0, indices.reshape({-1}, call), call);
  const NodePtr& x = operand(*this, "take_along_dim", loc);
  const NodePtr& i = operand(indices, "take_along_dim", loc);
  int64_t axis = detail::check_dim(*dim, x->shape, "take_along_dim", loc);
  check(i->shape.size() == x->shape.size(), "take_along_dim", loc, [&] {
    return "input " + detail::describe(*this) + " and indices " + detail::describe(indices) + " must have the same rank";
  });
  // The other axes broadcast against each other.
  Shape xs = x->shape, is = i->shape;
  xs[axis] = is[axis] = 1;
  Shape common = detail::broadcast_all({xs, is}, "take_along_dim", loc);
  Shape x_target = common, i_target = common;
  x_target[axis] = x->shape[axis];
  i_target[axis] = i->shape[axis];
  return expand(x_target, call).gather(axis, indices.expand(i_target, call), call);
}

namespace {
// out = self, then out[p with axis dim replaced by index[p]] = src[p] (scatter) or += (scatter_add).
// Several positions naming one element add up for scatter_add; for scatter PyTorch leaves the
// winner unspecified and Kiln writes their sum.
Tensor scatter_impl(const Tensor& self, int64_t dim, const Tensor& index, const Tensor& src, bool add,
                    const char* op, Loc call) {
  ir::CompositeScope composite(op);
  SourceLoc loc = SourceLoc::from(call);
  const NodePtr& x = operand(self, op, loc);
  const NodePtr& i = operand(index, op, loc);
  const NodePtr& s = operand(src, op, loc);
  int64_t axis = detail::check_dim(dim, x->shape, op, loc);
  bool fits = i->shape.size() == x->shape.size() && s->shape.size() == x->shape.size();
  for (size_t k = 0; fits && k < x->shape.size(); ++k)
    fits = i->shape[k] <= s->shape[k] && (static_cast<int64_t>(k) == axis || i->shape[k] <= x->shape[k]);
  check(fits, op, loc, [&] {
    return "index " + detail::describe(index) + " must have the rank of self " + detail::describe(self) +
           " and src " + detail::describe(src) + ", and no larger sizes than src (nor than self except on dim " +
           std::to_string(axis) + ")";
  });
  if (x->shape.empty()) return add ? self.add(src, 1, call) : src.to(self.dtype(), call);
  int64_t last = static_cast<int64_t>(x->shape.size()) - 1, r = x->shape[axis];
  NodePtr pos = move_axis(positions(index, r, false, op, loc), axis, last, loc);  // P + [J]
  NodePtr values = detail::cast_to(s, x->dtype, loc);
  if (s->shape != i->shape) values = ir::slice(values, Shape(i->shape.size(), 0), i->shape, Shape(i->shape.size(), 1), loc);
  values = move_axis(values, axis, last, loc);
  // contribution[p, r] = sum_j where(pos[p, j] == r, values[p, j], 0), over P + [R, J].
  Shape domain = pos->shape;
  domain.insert(domain.end() - 1, r);
  Shape at = pos->shape;
  at.insert(at.end() - 1, 1);
  Shape r_at(domain.size(), 1);
  r_at[domain.size() - 2] = r;
  NodePtr iota = ir::expand(ir::reshape(ir::iota(0, 1, {r}, kInt64, loc, x->device), r_at, loc), domain, loc);
  NodePtr hit = ir::binary(Op::Eq, ir::expand(ir::reshape(pos, at, loc), domain, loc), iota, loc);
  NodePtr spread = ir::expand(ir::reshape(values, at, loc), domain, loc);
  int64_t j_axis = static_cast<int64_t>(domain.size()) - 1;
  Shape reduced(domain.begin(), domain.end() - 1);
  NodePtr contribution = ir::reshape(
      ir::reduce(Op::ReduceSum, ir::where(hit, spread, zeros_of(values, domain, loc), loc), {j_axis}, loc), reduced, loc);
  // Back to self's layout (dim last), padded from index's extent to self's on the other axes.
  NodePtr target = move_axis(x, axis, last, loc);
  std::vector<int64_t> low(reduced.size(), 0), high(reduced.size(), 0), interior(reduced.size(), 0);
  for (size_t k = 0; k < reduced.size(); ++k) high[k] = target->shape[k] - reduced[k];
  bool padded = std::any_of(high.begin(), high.end(), [](int64_t h) { return h != 0; });
  if (padded) contribution = ir::pad(contribution, low, high, interior, 0, loc);
  NodePtr out;
  if (add) {
    out = ir::binary(Op::Add, target, contribution, loc);
  } else {
    NodePtr any = ir::reshape(ir::reduce(Op::ReduceMax, hit, {j_axis}, loc), reduced, loc);
    if (padded) any = ir::pad(any, low, high, interior, false, loc);
    out = ir::where(any, contribution, target, loc);
  }
  return detail::make_tensor(move_axis(out, last, axis, loc));
}
}  // namespace

Tensor Tensor::scatter(int64_t dim, const Tensor& index, const Tensor& src, Loc loc) const {
  return scatter_impl(*this, dim, index, src, false, "scatter", loc);
}
Tensor Tensor::scatter(int64_t dim, const Tensor& index, const Scalar& value, Loc loc) const {
  return scatter(dim, index, full_like(index, value, kiln::dtype(dtype()), loc), loc);
}
Tensor Tensor::scatter_add(int64_t dim, const Tensor& index, const Tensor& src, Loc loc) const {
  return scatter_impl(*this, dim, index, src, true, "scatter_add", loc);
}
Tensor& Tensor::scatter_(int64_t dim, const Tensor& index, const Tensor& src, Loc loc) const {
  return copy_(scatter(dim, index, src, loc), loc);
}
Tensor& Tensor::scatter_add_(int64_t dim, const Tensor& index, const Tensor& src, Loc loc) const {
  return copy_(scatter_add(dim, index, src, loc), loc);
}

Tensor Tensor::masked_fill(const Tensor& mask, const Scalar& value, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  const NodePtr& m = operand(mask, "masked_fill", loc);
  check(m->dtype == kBool, "masked_fill", loc, [&] { return "expected a bool mask, got " + detail::describe(mask); });
  Shape common = detail::broadcast_all({sizes().vec(), m->shape}, "masked_fill", loc);
  check(common == sizes().vec(), "masked_fill", loc, [&] {
    return "mask " + detail::describe(mask) + " must broadcast to self " + detail::describe(*this);
  });
  return kiln::where(mask, full_like(*this, value, {}, call), *this, call);
}
Tensor Tensor::masked_fill(const Tensor& mask, const Tensor& value, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  check(value.defined() && value.dim() == 0, "masked_fill", loc, "only supports a 0-dimension value tensor");
  return kiln::where(mask, value.to(dtype(), call).expand(sizes(), call), *this, call);
}
Tensor& Tensor::masked_fill_(const Tensor& mask, const Scalar& value, Loc loc) const {
  return copy_(masked_fill(mask, value, loc), loc);
}

namespace {

using indexing::TensorIndex;

// How many dimensions of self an index list consumes (integers, slices, int tensors: one each;
// bool masks: their rank; None, bools and the ellipsis: none).
int64_t consumed_dims(ArrayRef<TensorIndex> indices) {
  int64_t n = 0;
  for (const TensorIndex& i : indices) {
    if (i.kind == TensorIndex::kInteger || i.kind == TensorIndex::kSlice) ++n;
    if (i.kind == TensorIndex::kTensor) n += i.tensor.dtype() == kBool ? i.tensor.dim() : 1;
  }
  return n;
}

// The basic (view) part of indexing: integers, slices, None, bools and the ellipsis, applied
// left to right. Tensor indices are left for the caller: `advanced` receives each one with the
// dimension of the result it applies to.
Tensor basic_index(const Tensor& self, ArrayRef<TensorIndex> indices, std::vector<std::pair<int64_t, Tensor>>& advanced,
                   Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  int64_t used = consumed_dims(indices);
  check(used <= self.dim(), "index", loc, [&] {
    return "too many indices for tensor of dimension " + std::to_string(self.dim()) + " (got " + std::to_string(used) + ")";
  });
  bool ellipsis = false;
  Tensor out = self;
  int64_t d = 0;
  for (const TensorIndex& i : indices) {
    switch (i.kind) {
      case TensorIndex::kNone: out = out.unsqueeze(d++, call); break;
      case TensorIndex::kBoolean:
        out = out.unsqueeze(d, call);
        if (!i.boolean) out = out.slice(d, 0, 0, 1, call);
        ++d;
        break;
      case TensorIndex::kEllipsis:
        check(!ellipsis, "index", loc, "an index can only have a single ellipsis ('...')");
        ellipsis = true;
        d += self.dim() - used;
        break;
      case TensorIndex::kInteger: out = out.select(d, i.integer, call); break;
      case TensorIndex::kSlice:
        check(i.slice.step.value_or(1) > 0, "index", loc, "slice step must be positive");
        out = out.slice(d, i.slice.start, i.slice.stop, i.slice.step.value_or(1), call);
        ++d;
        break;
      case TensorIndex::kTensor:
        detail::operand(i.tensor, "index", loc);
        advanced.emplace_back(d, i.tensor);
        d += i.tensor.dtype() == kBool ? i.tensor.dim() : 1;
        break;
    }
  }
  return out;
}

// Merges dims [d, d + count) of x into one (a reshape).
Tensor merge_dims(const Tensor& x, int64_t d, int64_t count, Loc call) {
  std::vector<int64_t> shape;
  for (int64_t k = 0; k < d; ++k) shape.push_back(x.sizes()[k]);
  int64_t merged = 1;
  for (int64_t k = d; k < d + count; ++k) merged *= x.sizes()[k];
  shape.push_back(merged);
  for (int64_t k = d + count; k < x.dim(); ++k) shape.push_back(x.sizes()[k]);
  return x.reshape(shape, call);
}

// Advanced indexing with tensors on consecutive dims starting at `d`: bool masks become the
// flat positions of their true elements (evaluated at the call, as their count is a shape);
// int64 tensors broadcast together and address the merged dims.
Tensor advanced_index(const Tensor& x, const std::vector<std::pair<int64_t, Tensor>>& advanced, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  int64_t d = advanced.front().first, span = 0;
  std::vector<Tensor> positions;
  std::vector<int64_t> sizes;
  for (const auto& [at, t] : advanced) {
    check(at == d + span, "index", loc, "tensor indices must be on adjacent dimensions in Kiln");
    if (t.dtype() == kBool) {
      for (int64_t k = 0; k < t.dim(); ++k) {
        check(t.sizes()[k] == x.sizes()[at + k], "index", loc, [&] {
          return "the shape of the mask " + detail::describe(t) + " does not match the shape of the indexed tensor " +
                 detail::describe(x) + " at dimension " + std::to_string(at + k);
        });
        sizes.push_back(x.sizes()[at + k]);
      }
      Tensor rows = t.nonzero(call);  // [n, rank]
      for (int64_t k = 0; k < t.dim(); ++k) positions.push_back(rows.select(1, k, call));
      span += t.dim();
    } else {
      positions.push_back(t);
      sizes.push_back(x.sizes()[at]);
      ++span;
    }
  }
  std::vector<Shape> shapes;
  for (const Tensor& p : positions) shapes.push_back(p.sizes().vec());
  Shape common = detail::broadcast_all(shapes, "index", loc);
  // flat = sum_k wrap(p_k) * stride_k over the merged dims.
  Tensor flat = zeros(common, dtype(kInt64), call);
  int64_t stride = 1;
  for (size_t k = positions.size(); k-- > 0;) {
    Tensor p = detail::make_tensor(positions_of(positions[k], sizes[k], loc));
    flat = flat.add(p.mul(stride, call), 1, call);
    stride *= sizes[k];
  }
  Tensor merged = merge_dims(x, d, span, call);
  Tensor picked = merged.index_select(d, flat.reshape({-1}, call), call);
  std::vector<int64_t> shape;
  for (int64_t k = 0; k < d; ++k) shape.push_back(x.sizes()[k]);
  for (int64_t s : common) shape.push_back(s);
  for (int64_t k = d + span; k < x.dim(); ++k) shape.push_back(x.sizes()[k]);
  return picked.reshape(shape, call);
}

}  // namespace

Tensor Tensor::index(ArrayRef<indexing::TensorIndex> indices, Loc call) const {
  ir::CompositeScope composite("index");
  detail::operand(*this, "index", SourceLoc::from(call));
  std::vector<std::pair<int64_t, Tensor>> advanced;
  Tensor out = basic_index(*this, indices, advanced, call);
  return advanced.empty() ? out : advanced_index(out, advanced, call);
}

// Writes `value` where index(indices) reads: through the view for basic indices; with a bool
// mask as a select; with int64 positions as a scatter (accumulate: scatter_add).
Tensor& Tensor::index_put_(ArrayRef<indexing::TensorIndex> indices, const Tensor& value, bool accumulate,
                           Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  Tensor& self = const_cast<Tensor&>(*this);
  detail::operand(self, "index_put_", loc);
  std::vector<std::pair<int64_t, Tensor>> advanced;
  Tensor view = basic_index(self, indices, advanced, call);
  if (advanced.empty()) {
    if (accumulate) view.add_(value, 1, call);
    else view.copy_(value, call);
    return self;
  }
  check(advanced.size() == 1, "index_put_", loc, "supports one tensor index in Kiln");
  auto [d, t] = advanced.front();
  if (t.dtype() == kBool) {
    Shape at(view.dim(), 1);
    for (int64_t k = 0; k < t.dim(); ++k) at[d + k] = t.sizes()[k];
    Tensor mask = t.reshape(at, call).expand(view.sizes(), call);
    Tensor v = value.to(view.dtype(), call).expand(view.sizes(), call);
    view.copy_(kiln::where(mask, accumulate ? view.add(v, 1, call) : v, view, call), call);
    return self;
  }
  // Rows of `view` along d at positions t (flattened): scatter the value's rows there.
  Tensor p = t.reshape({-1}, call);
  Shape rows = view.sizes().vec();
  rows[d] = p.numel();
  Shape at(view.dim(), 1);
  at[d] = p.numel();
  Tensor where = detail::make_tensor(positions_of(p, view.sizes()[d], loc)).reshape(at, call).expand(rows, call);
  Tensor v = value.to(view.dtype(), call).expand(rows, call);
  view.copy_(accumulate ? view.scatter_add(d, where, v, call) : view.scatter(d, where, v, call), call);
  return self;
}

Tensor& Tensor::index_put_(ArrayRef<indexing::TensorIndex> indices, const Scalar& value, Loc call) const {
  return index_put_(indices, full({}, value, kiln::dtype(dtype()), call), false, call);
}

Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index, Loc loc) { return x.index_select(dim, index, loc); }
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index, Loc loc) { return x.gather(dim, index, loc); }
Tensor take_along_dim(const Tensor& x, const Tensor& indices, std::optional<int64_t> dim, Loc loc) {
  return x.take_along_dim(indices, dim, loc);
}
Tensor scatter(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, Loc loc) {
  return x.scatter(dim, index, src, loc);
}
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src, Loc loc) {
  return x.scatter_add(dim, index, src, loc);
}
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Scalar& value, Loc loc) {
  return x.masked_fill(mask, value, loc);
}

}  // namespace kiln
