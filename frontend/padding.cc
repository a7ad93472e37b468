// constant_pad_nd: torch.nn.functional.pad's constant mode on the pad primitive. Pads come in
// pairs from the last dimension inwards; a negative pad crops (a slice).
#include <algorithm>

#include "frontend/recording.h"
#include "kiln/functions.h"

namespace kiln {

Tensor constant_pad_nd(const Tensor& x, IntArrayRef pad, const Scalar& value, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  ir::NodePtr n = detail::operand(x, "constant_pad_nd", loc);
  size_t rank = n->shape.size();
  check(pad.size() % 2 == 0 && pad.size() / 2 <= rank, "constant_pad_nd", loc, [&] {
    return "expected an even number of pads, at most two per dimension of " + detail::describe(x) + ", got " +
           std::to_string(pad.size());
  });
  std::vector<int64_t> low(rank, 0), high(rank, 0), crop_low(rank, 0), crop_high = n->shape;
  for (size_t i = 0; i < pad.size() / 2; ++i) {
    size_t axis = rank - 1 - i;
    int64_t before = pad[2 * i], after = pad[2 * i + 1];
    check(n->shape[axis] + std::min<int64_t>(before, 0) + std::min<int64_t>(after, 0) >= 0, "constant_pad_nd", loc, [&] {
      return "padding (" + std::to_string(before) + ", " + std::to_string(after) + ") of dimension " +
             std::to_string(axis) + " of " + detail::describe(x) + " crops more than its size";
    });
    (before < 0 ? crop_low[axis] : low[axis]) = before < 0 ? -before : before;
    if (after < 0) crop_high[axis] += after;
    else high[axis] = after;
  }
  if (crop_low != std::vector<int64_t>(rank, 0) || crop_high != n->shape)
    n = ir::slice(n, crop_low, crop_high, std::vector<int64_t>(rank, 1), loc);
  if (low != std::vector<int64_t>(rank, 0) || high != std::vector<int64_t>(rank, 0))
    n = ir::pad(n, std::move(low), std::move(high), std::vector<int64_t>(rank, 0), value, loc);
  return detail::make_tensor(n);
}

}  // namespace kiln
