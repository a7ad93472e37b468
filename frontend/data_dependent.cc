// Ops whose result's shape or order depends on the values: sort, argsort, topk, nonzero and
// masked_select. They evaluate their input at the call (documented in docs/LAZINESS.md) and
// compute positions on the host; values that a gradient must reach are then picked lazily by
// those positions (gather, index_select), so autograd sees ordinary differentiable ops.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <type_traits>

#include "frontend/recording.h"
#include "ir/grad_mode.h"
#include "runtime/dump.h"
#include "kiln/functions.h"

namespace kiln {

namespace {

using detail::operand;

// PyTorch's order: NaN is greater than every number (last ascending, first descending).
template <typename T>
bool less(T a, T b) {
  if constexpr (is_reduced_float_v<T>) {
    return less(static_cast<float>(a), static_cast<float>(b));
  } else {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(a)) return false;
      if (std::isnan(b)) return true;
    }
    return a < b;
  }
}

// x viewed as [outer, n, inner] around `axis`: the lines along the axis.
struct Lines {
  int64_t outer = 1, n, inner = 1;
  Lines(const Shape& shape, int64_t axis) : n(shape[axis]) {
    for (size_t d = axis + 1; d < shape.size(); ++d) inner *= shape[d];
    for (int64_t d = 0; d < axis; ++d) outer *= shape[d];
  }
  size_t at(int64_t o, int64_t j, int64_t i, int64_t length) const { return static_cast<size_t>((o * length + j) * inner + i); }
};

// A tensor of `shape` on `device` from host values (bool is stored as one byte): the result of
// a data-dependent op lives where its input does, as in LibTorch.
template <typename Stored>
Tensor host_tensor(std::vector<Stored>& values, const Shape& shape, ScalarType t, Device device) {
  return from_blob(values.data(), shape, dtype(t)).clone().to(device);
}

struct Picked {
  std::vector<int64_t> positions;  // per output element: the position along the axis
  Tensor values;                   // x at those positions, read in the same pass (when asked)
};

// For each line along `axis` of x (contiguous), the positions of its first `k` elements in sorted
// order (stable: ties keep their order), and with `with_values` the values there. x is read once.
Picked sort_lines(const Tensor& x, int64_t axis, int64_t k, bool descending, bool with_values) {
  Shape out_shape = x.sizes().vec();
  Lines l(out_shape, axis);
  out_shape[axis] = k;
  Picked picked;
  picked.positions.resize(static_cast<size_t>(l.outer * k * l.inner));
  dispatch_dtype(x.dtype(), [&]<typename T>() {
    using Stored = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;
    std::vector<T> v = x.to_vector<T>();
    std::vector<Stored> values(with_values ? picked.positions.size() : 0);
    std::vector<int64_t> order(l.n);
    for (int64_t o = 0; o < l.outer; ++o)
      for (int64_t i = 0; i < l.inner; ++i) {
        auto at = [&](int64_t j) { return v[l.at(o, j, i, l.n)]; };
        std::iota(order.begin(), order.end(), 0);
        auto cmp = [&](int64_t a, int64_t b) { return descending ? less(at(b), at(a)) : less(at(a), at(b)); };
        if (k < l.n) std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](int64_t a, int64_t b) {
            return cmp(a, b) || (!cmp(b, a) && a < b);
          });
        else std::stable_sort(order.begin(), order.end(), cmp);
        for (int64_t j = 0; j < k; ++j) {
          picked.positions[l.at(o, j, i, k)] = order[j];
          if (with_values) values[l.at(o, j, i, k)] = static_cast<Stored>(at(order[j]));
        }
      }
    if (with_values) picked.values = host_tensor(values, out_shape, x.dtype(), x.device());
  });
  return picked;
}

Tensor int64_tensor(std::vector<int64_t> v, const Shape& shape, Device device) {
  return host_tensor(v, shape, kInt64, device);
}

// The sorted values: picked lazily from the positions when a gradient must reach x (then
// differentiable), else the ones the host pass read.
std::tuple<Tensor, Tensor> sorted(const Tensor& x, int64_t axis, int64_t k, bool descending, Loc loc) {
  bool differentiable = x.requires_grad() && ir::grad_mode_enabled();
  Picked p = sort_lines(x, axis, k, descending, !differentiable);
  Shape shape = x.sizes().vec();
  shape[axis] = k;
  Tensor positions = int64_tensor(std::move(p.positions), shape, x.device());
  return {differentiable ? x.gather(axis, positions, loc) : p.values, positions};
}

}  // namespace

std::tuple<Tensor, Tensor> Tensor::sort(int64_t dim, bool descending, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  const ir::NodePtr& x = operand(*this, "sort", loc);
  runtime::EvaluationCause why("sort() at " + loc.str());
  if (x->shape.empty()) return {*this, zeros({}, kiln::dtype(kInt64), call)};
  int64_t axis = detail::check_dim(dim, x->shape, "sort", loc);
  return sorted(contiguous(call), axis, x->shape[axis], descending, call);
}

Tensor Tensor::argsort(int64_t dim, bool descending, Loc loc) const { return std::get<1>(sort(dim, descending, loc)); }

std::tuple<Tensor, Tensor> Tensor::topk(int64_t k, int64_t dim, bool largest, bool sorted, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  const ir::NodePtr& x = operand(*this, "topk", loc);
  runtime::EvaluationCause why("topk() at " + loc.str());
  Shape shape = x->shape.empty() ? Shape{1} : x->shape;
  int64_t axis = detail::check_dim(dim, shape, "topk", loc);
  check(k >= 0 && k <= shape[axis], "topk", loc, [&] {
    return "k (" + std::to_string(k) + ") is out of range for dimension " + std::to_string(axis) + " of size " +
           std::to_string(shape[axis]);
  });
  (void)sorted;  // the k are always returned in order
  auto [values, positions] = kiln::sorted(contiguous(call).reshape(shape, call), axis, k, largest, call);
  if (x->shape.empty()) return {values.reshape({}, call), positions.reshape({}, call)};
  return {values, positions};
}

// The positions of nonzero elements, one row per element, as torch.nonzero (int64 [n, dim]).
Tensor Tensor::nonzero(Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  const ir::NodePtr& x = operand(*this, "nonzero", loc);
  runtime::EvaluationCause why("nonzero() at " + loc.str());
  std::vector<bool> set;
  for (bool b : ne(0, call).to_vector<bool>()) set.push_back(b);
  Shape strides = contiguous_strides(x->shape);
  std::vector<int64_t> rows;
  int64_t count = 0;
  for (size_t flat = 0; flat < set.size(); ++flat) {
    if (!set[flat]) continue;
    ++count;
    int64_t rest = static_cast<int64_t>(flat);
    for (size_t d = 0; d < strides.size(); ++d) rows.push_back(rest / strides[d]), rest %= strides[d];
  }
  return int64_tensor(rows, {count, static_cast<int64_t>(x->shape.size())}, x->device);
}

// The elements where `mask` (broadcast with self) is true, in row-major order, as a 1-D tensor.
Tensor Tensor::masked_select(const Tensor& mask, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  const ir::NodePtr& m = operand(mask, "masked_select", loc);
  runtime::EvaluationCause why("masked_select() at " + loc.str());
  check(m->dtype == kBool, "masked_select", loc, [&] { return "expected a bool mask, got " + detail::describe(mask); });
  Shape common = detail::broadcast_all({sizes().vec(), m->shape}, "masked_select", loc);
  Tensor flat = expand(common, call).reshape({-1}, call);
  std::vector<int64_t> where;
  std::vector<bool> keep = mask.expand(common, call).to_vector<bool>();
  for (size_t i = 0; i < keep.size(); ++i)
    if (keep[i]) where.push_back(static_cast<int64_t>(i));
  Tensor positions = int64_tensor(where, {static_cast<int64_t>(where.size())}, device());
  // A gradient reaches self through a lazy pick; otherwise the host copies the values once.
  if (requires_grad() && ir::grad_mode_enabled()) return flat.gather(0, positions, call);
  return dispatch_dtype(dtype(), [&]<typename T>() {
    using Stored = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;
    std::vector<T> v = flat.to_vector<T>();
    std::vector<Stored> out;
    for (int64_t i : where) out.push_back(static_cast<Stored>(v[static_cast<size_t>(i)]));
    return host_tensor(out, {static_cast<int64_t>(out.size())}, dtype(), device());
  });
}

std::tuple<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending, Loc loc) {
  return x.sort(dim, descending, loc);
}
Tensor argsort(const Tensor& x, int64_t dim, bool descending, Loc loc) { return x.argsort(dim, descending, loc); }
std::tuple<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest, bool sorted, Loc loc) {
  return x.topk(k, dim, largest, sorted, loc);
}
Tensor nonzero(const Tensor& x, Loc loc) { return x.nonzero(loc); }
Tensor masked_select(const Tensor& x, const Tensor& mask, Loc loc) { return x.masked_select(mask, loc); }

}  // namespace kiln
