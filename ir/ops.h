// Builders for the primitive ops: each computes its result's shape and dtype and returns a node.
// Operands must already agree (same shape for elementwise ops, same dtype where stated): the
// front end broadcasts, promotes and validates user input with the user's op names first, so a
// failed check here is a bug in Kiln, reported as kiln::Error naming the primitive.
#pragma once

#include <memory>
#include <vector>

#include "ir/node.h"

namespace kiln::ir {

// Sources, on `device`. Every other builder gives its node its inputs' device, and rejects inputs
// on different devices (kiln::Error naming both).
NodePtr buffer(std::shared_ptr<Storage> storage, Shape shape, ScalarType dtype, SourceLoc loc, Device device = {});
// A runtime scalar: a one-element buffer of rank `rank` holding `value` (Node::runtime_scalar).
NodePtr scalar_buffer(const Scalar& value, size_t rank, ScalarType dtype, SourceLoc loc, Device device = {});
NodePtr full(Scalar value, Shape shape, ScalarType dtype, SourceLoc loc, Device device = {});
// Element i (row-major) is start + i * delta.
NodePtr iota(Scalar start, Scalar delta, Shape shape, ScalarType dtype, SourceLoc loc, Device device = {});
// Element i is drawn from Philox(seed, counter = (i, offset)); see ir/philox.h.
NodePtr random(Distribution d, uint64_t seed, uint64_t offset, Shape shape, ScalarType dtype, SourceLoc loc,
               Device device = {});

// x's value on `device` (x itself when it is there already): the only op that changes device.
NodePtr transfer(NodePtr x, Device device, SourceLoc loc);

// Elementwise: same dtype in and out.
NodePtr unary(Op op, NodePtr x, SourceLoc loc);
// Elementwise over operands of one shape and dtype; comparisons yield kBool.
NodePtr binary(Op op, NodePtr a, NodePtr b, SourceLoc loc);
// cond (kBool) ? a : b, all of one shape; a and b of one dtype.
NodePtr where(NodePtr cond, NodePtr a, NodePtr b, SourceLoc loc);
NodePtr cast(NodePtr x, ScalarType dtype, SourceLoc loc);

// Reduces over `axes`, keeping them with size 1. ArgMax/ArgMin take one axis and yield kInt64
// (the first index of the extreme value; NaN counts as the extreme).
NodePtr reduce(Op op, NodePtr x, std::vector<int64_t> axes, SourceLoc loc);

// Movement.
NodePtr reshape(NodePtr x, Shape shape, SourceLoc loc);
NodePtr permute(NodePtr x, std::vector<int64_t> perm, SourceLoc loc);
std::vector<int64_t> inverse_permutation(const std::vector<int64_t>& perm);
// A new node with x's value (a reshape to its own shape, which simplification removes): gives a
// value its own identity in autograd, as a variable or cut off from x's gradient.
NodePtr alias(NodePtr x, SourceLoc loc);
// Broadcasts axes of size 1 to `shape` (same rank).
NodePtr expand(NodePtr x, Shape shape, SourceLoc loc);
// Per axis, elements start, start+step, ... below stop (step > 0, 0 <= start <= stop <= size).
NodePtr slice(NodePtr x, std::vector<int64_t> starts, std::vector<int64_t> stops, std::vector<int64_t> steps,
              SourceLoc loc);
// Per axis, `low` values before, `interior` between neighbours and `high` after, all `value`.
// With interior padding it is the dual of a strided slice.
NodePtr pad(NodePtr x, std::vector<int64_t> low, std::vector<int64_t> high, std::vector<int64_t> interior,
            Scalar value, SourceLoc loc);
// The dual of slice: a tensor of `shape` holding x's elements where slice(., starts, _, steps)
// took them from, and `value` elsewhere (a pad with interior padding).
NodePtr unslice(NodePtr x, const Shape& shape, const std::vector<int64_t>& starts, const std::vector<int64_t>& steps,
                Scalar value, SourceLoc loc);
NodePtr concat(std::vector<NodePtr> xs, int64_t axis, SourceLoc loc);

// [..., M, K] x [..., K, N] -> [..., M, N], batch axes equal, same dtype.
NodePtr matmul(NodePtr a, NodePtr b, SourceLoc loc);

}  // namespace kiln::ir
