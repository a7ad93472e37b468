// Movement ops. Those PyTorch returns as views (reshape when strides allow, view, permute,
// transpose, squeeze, unsqueeze, expand, slice, select, narrow, flatten) are views here too:
// they remember their base, so in-place ops flow between them as in PyTorch.
#include <algorithm>
#include <numeric>

#include "frontend/recording.h"
#include "ir/grad_mode.h"

namespace kiln {

using detail::Layout;
using detail::ViewStep;

namespace {

// PyTorch's rule for viewing strided memory with a new shape (at::detail::computeStride): the
// strides of the view, or nullopt when the memory cannot be viewed that way without a copy.
std::optional<Shape> view_strides(const Shape& old_sizes, const Shape& old_strides, const Shape& new_sizes) {
  if (old_sizes.empty() || numel(old_sizes) == 0) return contiguous_strides(new_sizes);
  Shape strides(new_sizes.size());
  int64_t view_d = static_cast<int64_t>(new_sizes.size()) - 1;
  int64_t chunk_base_stride = old_strides.back();
  int64_t tensor_numel = 1, view_numel = 1;
  for (int64_t d = static_cast<int64_t>(old_sizes.size()) - 1; d >= 0; --d) {
    tensor_numel *= old_sizes[d];
    if (d == 0 || (old_sizes[d - 1] != 1 && old_strides[d - 1] != tensor_numel * chunk_base_stride)) {
      while (view_d >= 0 && (view_numel < tensor_numel || new_sizes[view_d] == 1)) {
        strides[view_d] = view_numel * chunk_base_stride;
        view_numel *= new_sizes[view_d];
        --view_d;
      }
      if (view_numel != tensor_numel) return std::nullopt;
      if (d > 0) {
        chunk_base_stride = old_strides[d - 1];
        tensor_numel = view_numel = 1;
      }
    }
  }
  if (view_d != -1) return std::nullopt;
  return strides;
}

// A new view of `self`, one `step` further from the base (none: the same elements), whose
// elements lie at `layout` in the base's memory. Gradients flow through it if `records_grad`;
// by default when grad mode is on or self requires grad: as in PyTorch, a view of a tensor that
// requires grad requires grad too, also when made under NoGradGuard (detach() is the way out).
Tensor make_view(const Tensor& self, std::optional<ViewStep> step, Layout layout,
                 std::optional<bool> differentiable = std::nullopt) {
  detail::TensorImpl& src = detail::impl(self);
  bool records_grad = differentiable.value_or(ir::grad_mode_enabled() || self.requires_grad());
  ir::NodePtr node;
  {
    ir::GradModeGuard mode(records_grad);
    node = step ? detail::apply_view_step(*step, src.node()) : src.node();
  }
  if (!records_grad) node = detail::cut_gradient(node, node->loc);
  auto view = std::make_shared<detail::TensorImpl>(std::move(node));
  view->records_grad = records_grad;
  view->base = src.base ? src.base : self.impl_ptr();
  view->view_steps = src.view_steps;
  if (step) view->view_steps.push_back(std::move(*step));
  view->view_layout = std::move(layout);
  view->base_version = view->base->version;
  view->base->add_view(view);
  return Tensor(std::move(view));
}

// Resolves one -1 entry and checks the element count, as torch.reshape does.
Shape infer_shape(IntArrayRef shape, const Tensor& self, const char* op, SourceLoc loc) {
  Shape out(shape.begin(), shape.end());
  int64_t known = 1, infer = -1;
  for (size_t i = 0; i < out.size(); ++i) {
    if (out[i] == -1) {
      check(infer < 0, op, loc, "only one dimension can be inferred");
      infer = static_cast<int64_t>(i);
    } else {
      check(out[i] >= 0, op, loc, [&] { return "invalid shape dimension " + std::to_string(out[i]); });
      known *= out[i];
    }
  }
  int64_t n = self.numel();
  if (infer >= 0 && known != 0 && n % known == 0) out[infer] = n / known;
  check((infer < 0 || known != 0) && numel(out) == n && (infer < 0 || out[infer] >= 0), op, loc, [&] {
    return "shape " + shape_str(Shape(shape.begin(), shape.end())) + " is invalid for input of size " +
           std::to_string(n) + " (shape " + shape_str(self.sizes()) + ")";
  });
  return out;
}

Tensor reshape_impl(const Tensor& self, IntArrayRef shape, bool must_view, const char* op, SourceLoc loc) {
  detail::operand(self, op, loc);
  Shape target = infer_shape(shape, self, op, loc);
  Layout from = detail::impl(self).layout();
  std::optional<Shape> strides = view_strides(from.sizes, from.strides, target);
  if (!strides) {
    check(!must_view, op, loc, [&] {
      return "view size " + shape_str(target) + " is not compatible with input tensor's size " +
             shape_str(from.sizes) + " and stride " + shape_str(from.strides) +
             " (at least one dimension spans across two contiguous subspaces); use reshape instead";
    });
    return detail::make_tensor(ir::reshape(detail::node_of(self), target, loc));
  }
  ViewStep step{ViewStep::Reshape, target, {}, {}, {}, {}, loc};
  return make_view(self, std::move(step), {target, *strides, from.offset});
}

}  // namespace

Tensor Tensor::reshape(IntArrayRef shape, Loc loc) const {
  return reshape_impl(*this, shape, false, "reshape", SourceLoc::from(loc));
}

Tensor Tensor::view(IntArrayRef shape, Loc loc) const {
  return reshape_impl(*this, shape, true, "view", SourceLoc::from(loc));
}

Tensor Tensor::permute(IntArrayRef dims, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "permute", loc);
  int64_t rank = dim();
  check(static_cast<int64_t>(dims.size()) == rank, "permute", loc, [&] {
    return "number of dims " + std::to_string(dims.size()) + " does not match the shape " + shape_str(sizes());
  });
  std::vector<int64_t> perm(rank);
  std::vector<bool> seen(rank);
  for (int64_t i = 0; i < rank; ++i) {
    perm[i] = detail::check_dim(dims[i], sizes(), "permute", loc);
    check(!seen[perm[i]], "permute", loc, [&] { return "repeated dim " + std::to_string(dims[i]); });
    seen[perm[i]] = true;
  }
  Layout from = detail::impl(*this).layout();
  Layout to{Shape(rank), Shape(rank), from.offset};
  for (int64_t i = 0; i < rank; ++i) {
    to.sizes[i] = from.sizes[perm[i]];
    to.strides[i] = from.strides[perm[i]];
  }
  Shape shape = to.sizes;
  return make_view(*this, ViewStep{ViewStep::Permute, shape, perm, {}, {}, {}, loc}, std::move(to));
}

Tensor Tensor::transpose(int64_t dim0, int64_t dim1, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "transpose", loc);
  if (dim() == 0) return permute({}, call);
  std::vector<int64_t> perm(dim());
  std::iota(perm.begin(), perm.end(), 0);
  std::swap(perm[detail::check_dim(dim0, sizes(), "transpose", loc)],
            perm[detail::check_dim(dim1, sizes(), "transpose", loc)]);
  return permute(perm, call);
}

Tensor Tensor::t(Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "t", loc);
  check(dim() <= 2, "t", loc, [&] { return "expects a tensor with <= 2 dimensions, but self is " + shape_str(sizes()); });
  return dim() < 2 ? transpose(0, 0, call) : transpose(0, 1, call);
}

Tensor Tensor::unsqueeze(int64_t d, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "unsqueeze", loc);
  Shape target = sizes();
  target.push_back(1);  // the new axis may go after the last one
  int64_t at = detail::check_dim(d, target, "unsqueeze", loc);
  // PyTorch's stride for the new axis: that of the elements it spans.
  Layout layout = detail::impl(*this).layout();
  int64_t stride = at < dim() ? layout.sizes[at] * layout.strides[at] : 1;
  layout.sizes.insert(layout.sizes.begin() + at, 1);
  layout.strides.insert(layout.strides.begin() + at, stride);
  Shape shape = layout.sizes;
  return make_view(*this, ViewStep{ViewStep::Reshape, shape, {}, {}, {}, {}, loc}, std::move(layout));
}

Tensor Tensor::squeeze(Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "squeeze", loc);
  Shape target;
  for (int64_t s : sizes())
    if (s != 1) target.push_back(s);
  return reshape_impl(*this, target, true, "squeeze", loc);
}

Tensor Tensor::squeeze(int64_t d, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "squeeze", loc);
  if (dim() == 0) return reshape_impl(*this, {}, true, "squeeze", loc);
  int64_t at = detail::check_dim(d, sizes(), "squeeze", loc);
  Shape target = sizes();
  if (target[at] == 1) target.erase(target.begin() + at);
  return reshape_impl(*this, target, true, "squeeze", loc);
}

Tensor Tensor::flatten(int64_t start_dim, int64_t end_dim, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "flatten", loc);
  if (dim() == 0) return reshape_impl(*this, {1}, false, "flatten", loc);
  int64_t s = detail::check_dim(start_dim, sizes(), "flatten", loc);
  int64_t e = detail::check_dim(end_dim, sizes(), "flatten", loc);
  check(s <= e, "flatten", loc, "start_dim cannot come after end_dim");
  Shape target(sizes().begin(), sizes().begin() + s);
  target.push_back(std::accumulate(sizes().begin() + s, sizes().begin() + e + 1, int64_t{1}, std::multiplies<>()));
  target.insert(target.end(), sizes().begin() + e + 1, sizes().end());
  return reshape_impl(*this, target, false, "flatten", loc);
}

Tensor Tensor::expand(IntArrayRef target_sizes, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "expand", loc);
  const Shape& from = sizes();
  size_t rank = target_sizes.size();
  auto fail = [&] {
    return "the expanded size " + shape_str(Shape(target_sizes.begin(), target_sizes.end())) +
           " must match the existing size " + shape_str(from) + " at non-singleton dimensions";
  };
  check(rank >= from.size(), "expand", loc, fail);
  // PyTorch's inferExpandGeometry, from the last axis: broadcast axes get stride 0, new leading
  // axes of size 1 the stride of the elements they span.
  Layout in = detail::impl(*this).layout();
  Layout out{Shape(rank), Shape(rank, 0), in.offset};
  size_t lead = rank - from.size();
  for (size_t i = rank; i-- > 0;) {
    bool existing = i >= lead;
    int64_t have = existing ? from[i - lead] : 1;
    int64_t stride = existing ? in.strides[i - lead] : i + 1 < rank ? out.sizes[i + 1] * out.strides[i + 1] : 1;
    int64_t want = target_sizes[i] == -1 && existing ? have : target_sizes[i];
    check(want >= 0 && (want == have || have == 1), "expand", loc, fail);
    out.sizes[i] = want;
    out.strides[i] = want == have ? stride : 0;
  }
  Shape shape = out.sizes;
  return make_view(*this, ViewStep{ViewStep::Expand, shape, {}, {}, {}, {}, loc}, std::move(out));
}

Tensor Tensor::expand_as(const Tensor& other, Loc call) const {
  detail::operand(other, "expand_as", SourceLoc::from(call));
  return expand(other.sizes(), call);
}

Tensor Tensor::slice(int64_t d, std::optional<int64_t> start, std::optional<int64_t> end, int64_t step,
                     Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "slice", loc);
  check(dim() > 0, "slice", loc, "cannot be applied to a 0-dim tensor");
  int64_t axis = detail::check_dim(d, sizes(), "slice", loc);
  check(step > 0, "slice", loc, [&] { return "step must be positive, got " + std::to_string(step); });
  int64_t n = sizes()[axis];
  // Python slicing: negative bounds count from the end; out-of-range bounds clamp.
  auto clamp_bound = [n](int64_t v) { return std::clamp<int64_t>(v < 0 ? v + n : v, 0, n); };
  int64_t lo = clamp_bound(start.value_or(0));
  int64_t hi = std::max(lo, clamp_bound(end.value_or(n)));
  size_t rank = sizes().size();
  ViewStep s{ViewStep::Slice, sizes(), {}, std::vector<int64_t>(rank, 0), sizes(), std::vector<int64_t>(rank, 1), loc};
  s.starts[axis] = lo;
  s.stops[axis] = hi;
  s.steps[axis] = step;
  s.shape[axis] = (hi - lo + step - 1) / step;
  Layout layout = detail::impl(*this).layout();
  layout.offset += lo * layout.strides[axis];
  layout.sizes[axis] = s.shape[axis];
  layout.strides[axis] *= step;
  return make_view(*this, std::move(s), std::move(layout));
}

Tensor Tensor::narrow(int64_t d, int64_t start, int64_t length, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "narrow", loc);
  check(dim() > 0, "narrow", loc, "cannot be applied to a 0-dim tensor");
  int64_t axis = detail::check_dim(d, sizes(), "narrow", loc);
  int64_t n = sizes()[axis];
  int64_t s = start < 0 ? start + n : start;
  check(s >= 0 && length >= 0 && s + length <= n, "narrow", loc, [&] {
    return "start " + std::to_string(start) + " + length " + std::to_string(length) + " exceeds dimension size " +
           std::to_string(n) + " of shape " + shape_str(sizes());
  });
  return slice(axis, s, s + length, 1, call);
}

Tensor Tensor::select(int64_t d, int64_t index, Loc call) const {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(*this, "select", loc);
  check(dim() > 0, "select", loc, "cannot be applied to a 0-dim tensor");
  int64_t axis = detail::check_dim(d, sizes(), "select", loc);
  int64_t n = sizes()[axis];
  check(index >= -n && index < n, "select", loc, [&] {
    return "index " + std::to_string(index) + " is out of range for dimension " + std::to_string(d) + " of shape " +
           shape_str(sizes());
  });
  int64_t i = index < 0 ? index + n : index;
  Shape target = sizes();
  target.erase(target.begin() + axis);
  return reshape_impl(slice(axis, i, i + 1, 1, call), target, true, "select", loc);
}

Tensor Tensor::contiguous(Loc call) const {
  detail::operand(*this, "contiguous", SourceLoc::from(call));
  return is_contiguous() ? *this : detail::make_tensor(detail::node_of(*this));
}

Tensor Tensor::alias(Loc call) const {
  detail::operand(*this, "alias", SourceLoc::from(call));
  return make_view(*this, std::nullopt, detail::impl(*this).layout());
}

Tensor Tensor::detach() const {
  if (!defined()) return *this;
  // Shares the value and its in-place changes, as PyTorch's detach does, but not gradients.
  return make_view(*this, std::nullopt, detail::impl(*this).layout(), false);
}

}  // namespace kiln
