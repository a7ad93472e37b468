// Shared by the MLIR exporter's files: the builder state for one function and the per-op lowering.
#pragma once

#include <unordered_map>

#include "ir/node.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/Value.h"

namespace kiln::codegen::mlir {

// MLIR's element type for a Kiln dtype: i1 for bool, signless integers (uint8 is i8, its
// unsignedness lives in the ops chosen), f32/f64.
::mlir::Type element_type(::mlir::OpBuilder& b, ScalarType dtype);
::mlir::RankedTensorType tensor_type(::mlir::OpBuilder& b, const Shape& shape, ScalarType dtype);

// A scalar constant of `dtype`.
::mlir::Value scalar_constant(::mlir::OpBuilder& b, ::mlir::Location loc, const Scalar& value, ScalarType dtype);
// A tensor constant holding a buffer's elements.
::mlir::Value buffer_constant(::mlir::OpBuilder& b, ::mlir::Location loc, const ir::Node& buffer);
// One element converted as `cast` does (ir/semantics.h's convert).
::mlir::Value convert(::mlir::OpBuilder& b, ::mlir::Location loc, ::mlir::Value v, ScalarType from, ScalarType to);
// A tensor of `shape`: `from`'s elements in row-major order.
::mlir::Value reshape(::mlir::OpBuilder& b, ::mlir::Location loc, ::mlir::Value from, const Shape& shape);

// The node's source line (and composite op) as an MLIR location.
::mlir::Location location(::mlir::OpBuilder& b, const ir::Node& n);

// Lowers one node whose operands are already values in `values`.
::mlir::Value lower_node(::mlir::OpBuilder& b, const ir::Node& n,
                         const std::unordered_map<const ir::Node*, ::mlir::Value>& values);

}  // namespace kiln::codegen::mlir
