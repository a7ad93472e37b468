// Helpers every front-end op uses to validate its operands and record primitives: operand
// checks with the user's op name and location, broadcasting, promotion and casts.
#pragma once

#include <string>
#include <vector>

#include "frontend/tensor_impl.h"
#include "ir/ops.h"

namespace kiln::detail {

// The node of a defined tensor, or kiln::Error naming `op`.
const ir::NodePtr& operand(const Tensor& t, const char* op, SourceLoc loc);

std::string describe(const Tensor& t);  // "float32[2, 3]"

// Broadcasts to `shape` with explicit reshape and expand nodes (elementwise primitives take
// operands of one shape).
ir::NodePtr broadcast_to(ir::NodePtr x, const Shape& shape, SourceLoc loc);
ir::NodePtr cast_to(ir::NodePtr x, ScalarType t, SourceLoc loc);
// x as an autocast op takes it (kiln/autocast.h): cast to the autocast dtype of its device when
// autocast is enabled there and x is a non-float64 floating tensor; else x.
ir::NodePtr autocast_to(ir::NodePtr x, SourceLoc loc);
// A constant of `shape` on `device`, compiled into the kernels that read it.
ir::NodePtr constant(const Scalar& value, const Shape& shape, ScalarType t, SourceLoc loc, Device device);
// A scalar the user passed, broadcast to `shape`: a zero-dim buffer, so kernels read it as an input
// and a new value between steps compiles nothing (the schedule key sees only its dtype and shape).
ir::NodePtr scalar_input(const Scalar& value, const Shape& shape, ScalarType t, SourceLoc loc, Device device);

// The common shape of `shapes`, or kiln::Error naming `op` and every shape.
Shape broadcast_all(const std::vector<Shape>& shapes, const char* op, SourceLoc loc);

// Normalizes `dim` for a tensor of `rank`, or kiln::Error naming `op`, the dim and the shape.
int64_t check_dim(int64_t dim, const Shape& shape, const char* op, SourceLoc loc);

// Rejects a device that does not exist on this machine, or has no backend in this build (CUDA,
// until its backend lands), with kiln::Error saying which.
void check_device(Device d, const char* op, SourceLoc loc);

}  // namespace kiln::detail
