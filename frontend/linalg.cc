// matmul with torch.matmul's rules for 1-D operands and batch broadcasting, on the one
// contraction primitive [..., M, K] x [..., K, N].
#include "frontend/recording.h"
#include "kiln/functions.h"

namespace kiln {

namespace {

// torch.matmul, reporting errors as `op`. Under autocast, in the autocast dtype.
Tensor contract(const Tensor& a, const Tensor& b, const char* op, SourceLoc loc) {
  ir::NodePtr x = detail::autocast_to(detail::operand(a, op, loc), loc);
  ir::NodePtr y = detail::autocast_to(detail::operand(b, op, loc), loc);
  check(!x->shape.empty() && !y->shape.empty(), op, loc, [&] {
    return "both arguments need to be at least 1D, got " + detail::describe(a) + " and " + detail::describe(b);
  });
  check(x->dtype == y->dtype && x->dtype != kBool, op, loc, [&] {
    return "expected operands of one non-bool dtype, got " + detail::describe(a) + " and " + detail::describe(b);
  });
  bool vec_a = x->shape.size() == 1, vec_b = y->shape.size() == 1;
  Shape sa = x->shape, sb = y->shape;
  if (vec_a) sa.insert(sa.begin(), 1);
  if (vec_b) sb.push_back(1);
  int64_t k = sa.back();
  check(k == sb[sb.size() - 2], op, loc, [&] {
    return "shapes " + shape_str(a.sizes()) + " and " + shape_str(b.sizes()) + " cannot be multiplied (" +
           std::to_string(k) + " != " + std::to_string(sb[sb.size() - 2]) + ")";
  });
  Shape batch_a(sa.begin(), sa.end() - 2), batch_b(sb.begin(), sb.end() - 2);
  Shape batch = detail::broadcast_all({batch_a, batch_b}, op, loc);
  Shape full_a = batch, full_b = batch;
  full_a.insert(full_a.end(), {sa[sa.size() - 2], k});
  full_b.insert(full_b.end(), {k, sb.back()});
  if (sa != x->shape) x = ir::reshape(x, sa, loc);
  if (sb != y->shape) y = ir::reshape(y, sb, loc);
  ir::NodePtr out = ir::matmul(detail::broadcast_to(x, full_a, loc), detail::broadcast_to(y, full_b, loc), loc);
  Shape result = batch;
  if (!vec_a) result.push_back(sa[sa.size() - 2]);
  if (!vec_b) result.push_back(sb.back());
  if (result != out->shape) out = ir::reshape(out, result, loc);
  return detail::make_tensor(out);
}

}  // namespace

Tensor matmul(const Tensor& a, const Tensor& b, Loc loc) { return contract(a, b, "matmul", SourceLoc::from(loc)); }

Tensor mm(const Tensor& a, const Tensor& b, Loc call) {
  SourceLoc loc = SourceLoc::from(call);
  detail::operand(a, "mm", loc);
  detail::operand(b, "mm", loc);
  check(a.dim() == 2 && b.dim() == 2, "mm", loc, [&] {
    return "expects two matrices, got " + detail::describe(a) + " and " + detail::describe(b);
  });
  return contract(a, b, "mm", loc);
}

Tensor Tensor::matmul(const Tensor& other, Loc loc) const { return kiln::matmul(*this, other, loc); }
Tensor Tensor::mm(const Tensor& other, Loc loc) const { return kiln::mm(*this, other, loc); }

}  // namespace kiln
