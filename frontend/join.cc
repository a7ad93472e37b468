// Joining tensors: cat and stack.
#include "frontend/recording.h"
#include "kiln/functions.h"

namespace kiln {

Tensor cat(const TensorList& tensors, int64_t dim, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  check(!tensors.empty(), "cat", loc, "expected a non-empty list of tensors");
  // As torch.cat, 1-D empty tensors are skipped (so `out = cat({out, x})` can start from an empty
  // tensor), but their dtypes still take part in promotion.
  std::vector<ir::NodePtr> parts;
  ScalarType t = kBool;
  for (const Tensor& x : tensors) {
    const ir::NodePtr& n = detail::operand(x, "cat", loc);
    t = promote_types(t, n->dtype);
    if (n->shape != Shape{0}) parts.push_back(n);
  }
  if (parts.empty()) parts.push_back(detail::node_of(tensors[0]));
  const Shape& first = parts[0]->shape;
  check(!first.empty(), "cat", loc, "zero-dimensional tensors cannot be concatenated");
  int64_t axis = detail::check_dim(dim, first, "cat", loc);
  for (size_t i = 0; i < parts.size(); ++i) {
    const Shape& s = parts[i]->shape;
    bool ok = s.size() == first.size();
    for (size_t k = 0; ok && k < s.size(); ++k) ok = static_cast<int64_t>(k) == axis || s[k] == first[k];
    check(ok, "cat", loc, [&] {
      return "sizes of tensors must match except in dimension " + std::to_string(axis) + ": tensor 0 is " +
             shape_str(first) + ", tensor " + std::to_string(i) + " is " + shape_str(s);
    });
    parts[i] = detail::cast_to(parts[i], t, loc);
  }
  if (parts.size() == 1) return detail::make_tensor(parts[0]);
  return detail::make_tensor(ir::concat(std::move(parts), axis, loc));
}

Tensor stack(const TensorList& tensors, int64_t dim, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  check(!tensors.empty(), "stack", loc, "expected a non-empty list of tensors");
  const Shape& first = detail::operand(tensors[0], "stack", loc)->shape;
  Shape with_axis = first;
  with_axis.push_back(1);
  int64_t axis = detail::check_dim(dim, with_axis, "stack", loc);
  TensorList parts;
  for (size_t i = 0; i < tensors.size(); ++i) {
    check(detail::operand(tensors[i], "stack", loc)->shape == first, "stack", loc, [&] {
      return "expects each tensor to be equal size, but got " + shape_str(first) + " at entry 0 and " +
             shape_str(tensors[i].sizes()) + " at entry " + std::to_string(i);
    });
    parts.push_back(tensors[i].unsqueeze(axis, call));
  }
  return cat(parts, axis, call);
}

}  // namespace kiln
