#include "passes/vjp.h"

#include <cmath>
#include <numbers>

#include "ir/ops.h"

namespace kiln::passes {

namespace {

using ir::NodePtr;
using ir::Op;
using Grads = std::vector<NodePtr>;

// Builds the gradient's nodes at the forward node's source location, so dumps and errors point
// at the user's line.
struct Rule {
  const ir::Node& n;
  const NodePtr& out;
  const NodePtr& g;

  const NodePtr& in(size_t i) const { return n.inputs[i]; }
  NodePtr c(double v, const NodePtr& like) const { return ir::full(v, like->shape, like->dtype, n.loc, like->device); }
  NodePtr add(NodePtr a, NodePtr b) const { return ir::binary(Op::Add, std::move(a), std::move(b), n.loc); }
  NodePtr sub(NodePtr a, NodePtr b) const { return ir::binary(Op::Sub, std::move(a), std::move(b), n.loc); }
  NodePtr mul(NodePtr a, NodePtr b) const { return ir::binary(Op::Mul, std::move(a), std::move(b), n.loc); }
  NodePtr div(NodePtr a, NodePtr b) const { return ir::binary(Op::Div, std::move(a), std::move(b), n.loc); }
  NodePtr cmp(Op op, NodePtr a, NodePtr b) const { return ir::binary(op, std::move(a), std::move(b), n.loc); }
  NodePtr unary(Op op, NodePtr x) const { return ir::unary(op, std::move(x), n.loc); }
  NodePtr where(NodePtr c, NodePtr a, NodePtr b) const {
    return ir::where(std::move(c), std::move(a), std::move(b), n.loc);
  }
  NodePtr as(NodePtr x, const NodePtr& like) const {
    return x->dtype == like->dtype ? x : ir::cast(std::move(x), like->dtype, n.loc);
  }
  // g where `mask` holds, else 0.
  NodePtr keep(NodePtr mask, NodePtr v) const {
    NodePtr zero = c(0, v);
    return where(std::move(mask), std::move(v), std::move(zero));
  }
};

NodePtr transpose_last_two(const NodePtr& x, SourceLoc loc) {
  std::vector<int64_t> perm(x->shape.size());
  for (size_t i = 0; i < perm.size(); ++i) perm[i] = static_cast<int64_t>(i);
  std::swap(perm[perm.size() - 2], perm[perm.size() - 1]);
  return ir::permute(x, std::move(perm), loc);
}

// Unary ops.
Grads neg(const Rule& r) { return {r.unary(Op::Neg, r.g)}; }
// The subgradient 0 at 0, as PyTorch's sgn.
Grads abs(const Rule& r) {
  const NodePtr& x = r.in(0);
  NodePtr sign = r.sub(r.as(r.cmp(Op::Gt, x, r.c(0, x)), x), r.as(r.cmp(Op::Lt, x, r.c(0, x)), x));
  return {r.mul(r.g, sign)};
}
Grads exp(const Rule& r) { return {r.mul(r.g, r.out)}; }
Grads log(const Rule& r) { return {r.div(r.g, r.in(0))}; }
Grads sqrt(const Rule& r) { return {r.div(r.g, r.mul(r.out, r.c(2, r.out)))}; }
Grads tanh(const Rule& r) { return {r.mul(r.g, r.sub(r.c(1, r.out), r.mul(r.out, r.out)))}; }
Grads erf(const Rule& r) {
  const NodePtr& x = r.in(0);
  NodePtr bell = r.unary(Op::Exp, r.unary(Op::Neg, r.mul(x, x)));
  return {r.mul(r.g, r.mul(r.c(2 / std::sqrt(std::numbers::pi), x), bell))};
}
Grads sin(const Rule& r) { return {r.mul(r.g, r.unary(Op::Cos, r.in(0)))}; }
Grads cos(const Rule& r) { return {r.unary(Op::Neg, r.mul(r.g, r.unary(Op::Sin, r.in(0))))}; }

// Binary ops (operands of one shape: the front end broadcast them with expand nodes).
Grads add(const Rule& r) { return {r.g, r.g}; }
Grads sub(const Rule& r) { return {r.g, r.unary(Op::Neg, r.g)}; }
Grads mul(const Rule& r) { return {r.mul(r.g, r.in(1)), r.mul(r.g, r.in(0))}; }
// d(a/b)/db = -(a/b)/b, so the second cotangent reuses the first.
Grads div(const Rule& r) {
  NodePtr ga = r.div(r.g, r.in(1));
  return {ga, r.unary(Op::Neg, r.mul(ga, r.out))};
}
// As PyTorch: no gradient to the base where the exponent is 0, none to the exponent where the
// base is 0 and the exponent non-negative.
Grads pow(const Rule& r) {
  const NodePtr &a = r.in(0), &b = r.in(1);
  NodePtr base = r.mul(r.g, r.mul(b, ir::binary(Op::Pow, a, r.sub(b, r.c(1, b)), r.n.loc)));
  NodePtr exponent_zero = r.cmp(Op::Eq, b, r.c(0, b));
  NodePtr ga = r.where(exponent_zero, r.c(0, a), base);
  NodePtr no_log =
      r.where(r.cmp(Op::Eq, a, r.c(0, a)), r.cmp(Op::Ge, b, r.c(0, b)), ir::full(false, a->shape, kBool, r.n.loc, a->device));
  NodePtr gb = r.where(std::move(no_log), r.c(0, b), r.mul(r.g, r.mul(r.out, r.unary(Op::Log, a))));
  return {ga, gb};
}
// Ties split the gradient evenly between the operands, as PyTorch's maximum and minimum.
Grads extremum(const Rule& r, Op wins) {
  const NodePtr &a = r.in(0), &b = r.in(1);
  NodePtr half = r.mul(r.g, r.c(0.5, r.g));
  NodePtr tie = r.cmp(Op::Eq, a, b);
  auto share = [&](const NodePtr& self, const NodePtr& other) {
    return r.where(r.cmp(wins, self, other), r.g, r.keep(tie, half));
  };
  return {share(a, b), share(b, a)};
}
Grads maximum(const Rule& r) { return extremum(r, Op::Gt); }
Grads minimum(const Rule& r) { return extremum(r, Op::Lt); }
Grads where(const Rule& r) {
  const NodePtr& cond = r.in(0);
  return {nullptr, r.keep(cond, r.g), r.where(cond, r.c(0, r.g), r.g)};
}
Grads cast(const Rule& r) { return {is_floating(r.in(0)->dtype) ? r.as(r.g, r.in(0)) : nullptr}; }

// Reductions (the reduced axes are kept with size 1, so expand restores them).
Grads reduce_sum(const Rule& r) { return {ir::expand(r.g, r.in(0)->shape, r.n.loc)}; }
// Ties share the gradient evenly, as PyTorch's amax/amin and max()/min() without a dim.
Grads reduce_extremum(const Rule& r) {
  const NodePtr& x = r.in(0);
  NodePtr hit = r.cmp(Op::Eq, x, ir::expand(r.out, x->shape, r.n.loc));
  NodePtr count = ir::reduce(Op::ReduceSum, r.as(hit, x), r.n.attrs.axes, r.n.loc);
  return {r.keep(hit, ir::expand(r.div(r.g, count), x->shape, r.n.loc))};
}
// d prod / d x_i is the product of the others: prod / x_i without zeros; with exactly one zero,
// the product of the nonzero elements at the zero and 0 elsewhere; with more, 0 (as PyTorch's).
Grads reduce_prod(const Rule& r) {
  const NodePtr& x = r.in(0);
  const std::vector<int64_t>& axes = r.n.attrs.axes;
  auto spread = [&](NodePtr v) { return ir::expand(std::move(v), x->shape, r.n.loc); };
  NodePtr is_zero = r.cmp(Op::Eq, x, r.c(0, x));
  NodePtr zeros = spread(ir::reduce(Op::ReduceSum, r.as(is_zero, x), axes, r.n.loc));
  NodePtr nonzero_product = spread(ir::reduce(Op::ReduceProd, r.where(is_zero, r.c(1, x), x), axes, r.n.loc));
  NodePtr no = ir::full(false, x->shape, kBool, r.n.loc, x->device);
  NodePtr lone_zero = r.where(is_zero, r.cmp(Op::Eq, zeros, r.c(1, x)), std::move(no));
  NodePtr others = r.where(r.cmp(Op::Eq, zeros, r.c(0, x)), r.div(spread(r.out), x), r.keep(lone_zero, nonzero_product));
  return {r.mul(spread(r.g), others)};
}

// Movement: each rule is the dual movement.
Grads reshape(const Rule& r) { return {ir::reshape(r.g, r.in(0)->shape, r.n.loc)}; }
// Whether `perm` swaps the last two axes and keeps the others.
bool swaps_last_two(const std::vector<int64_t>& perm) {
  size_t rank = perm.size();
  if (rank < 2 || perm[rank - 2] != int64_t(rank - 1) || perm[rank - 1] != int64_t(rank - 2)) return false;
  for (size_t k = 0; k + 2 < rank; ++k)
    if (perm[k] != int64_t(k)) return false;
  return true;
}
// The gradient of a transposed matmul operand (Linear's weight.t()) arrives as a product a^T g;
// its transpose is the product the other way round, g^T a, which BLAS computes reading both
// operands in place, instead of a product followed by a transposing copy.
Grads permute(const Rule& r) {
  if (r.g->op == Op::MatMul && swaps_last_two(r.n.attrs.axes))
    return {ir::matmul(transpose_last_two(r.g->inputs[1], r.n.loc), transpose_last_two(r.g->inputs[0], r.n.loc),
                       r.n.loc)};
  return {ir::permute(r.g, ir::inverse_permutation(r.n.attrs.axes), r.n.loc)};
}
Grads expand(const Rule& r) {
  const Shape& from = r.in(0)->shape;
  std::vector<int64_t> grown;
  for (size_t k = 0; k < from.size(); ++k)
    if (from[k] != r.g->shape[k]) grown.push_back(static_cast<int64_t>(k));
  return {grown.empty() ? r.g : ir::reduce(Op::ReduceSum, r.g, std::move(grown), r.n.loc)};
}
Grads slice(const Rule& r) { return {ir::unslice(r.g, r.in(0)->shape, r.n.attrs.low, r.n.attrs.step, 0, r.n.loc)}; }
Grads pad(const Rule& r) {
  const ir::Attrs& a = r.n.attrs;
  const Shape& from = r.in(0)->shape;
  std::vector<int64_t> stops(from.size()), steps(from.size());
  for (size_t k = 0; k < from.size(); ++k) {
    steps[k] = a.interior[k] + 1;
    stops[k] = a.low[k] + (from[k] > 0 ? (from[k] - 1) * steps[k] + 1 : 0);
  }
  return {ir::slice(r.g, a.low, std::move(stops), std::move(steps), r.n.loc)};
}
Grads concat(const Rule& r) {
  size_t axis = static_cast<size_t>(r.n.attrs.axes[0]);
  Grads grads;
  int64_t offset = 0;
  for (const NodePtr& x : r.n.inputs) {
    std::vector<int64_t> starts(x->shape.size(), 0), stops = x->shape, steps(x->shape.size(), 1);
    starts[axis] = offset;
    stops[axis] = offset + x->shape[axis];
    offset = stops[axis];
    grads.push_back(ir::slice(r.g, std::move(starts), std::move(stops), std::move(steps), r.n.loc));
  }
  return grads;
}

Grads matmul(const Rule& r) {
  return {ir::matmul(r.g, transpose_last_two(r.in(1), r.n.loc), r.n.loc),
          ir::matmul(transpose_last_two(r.in(0), r.n.loc), r.g, r.n.loc)};
}

// The gradient goes back to the device the input lives on.
Grads transfer(const Rule& r) { return {ir::transfer(r.g, r.in(0)->device, r.n.loc)}; }

// Piecewise constant (floor, ceil, round, trunc): a zero gradient, as PyTorch's.
Grads zero(const Rule& r) { return {r.c(0, r.in(0))}; }

// Sources have no inputs; comparisons and indices are not differentiable.
Grads none(const Rule& r) { return Grads(r.n.inputs.size()); }

}  // namespace

std::vector<NodePtr> vjp(const ir::Node& n, const NodePtr& out, const NodePtr& g) {
  Rule r{n, out, g};
  switch (n.op) {
    case Op::Neg: return neg(r);
    case Op::Abs: return abs(r);
    case Op::Exp: return exp(r);
    case Op::Log: return log(r);
    case Op::Sqrt: return sqrt(r);
    case Op::Tanh: return tanh(r);
    case Op::Erf: return erf(r);
    case Op::Sin: return sin(r);
    case Op::Cos: return cos(r);
    case Op::Floor:
    case Op::Ceil:
    case Op::Round:
    case Op::Trunc: return zero(r);
    case Op::Add: return add(r);
    case Op::Sub: return sub(r);
    case Op::Mul: return mul(r);
    case Op::Div: return div(r);
    case Op::Pow: return pow(r);
    case Op::Maximum: return maximum(r);
    case Op::Minimum: return minimum(r);
    case Op::Where: return where(r);
    case Op::Cast: return cast(r);
    case Op::ReduceSum: return reduce_sum(r);
    case Op::ReduceProd: return reduce_prod(r);
    case Op::ReduceMax:
    case Op::ReduceMin: return reduce_extremum(r);
    case Op::Reshape: return reshape(r);
    case Op::Permute: return permute(r);
    case Op::Expand: return expand(r);
    case Op::Slice: return slice(r);
    case Op::Pad: return pad(r);
    case Op::Concat: return concat(r);
    case Op::MatMul: return matmul(r);
    case Op::Transfer: return transfer(r);
    case Op::Buffer:
    case Op::Full:
    case Op::Iota:
    case Op::Random:
    case Op::Eq:
    case Op::Ne:
    case Op::Lt:
    case Op::Le:
    case Op::Gt:
    case Op::Ge:
    case Op::ArgMax:
    case Op::ArgMin: return none(r);
  }
  return none(r);
}

}  // namespace kiln::passes
