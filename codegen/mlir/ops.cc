// Each Kiln primitive as upstream MLIR on tensors: elementwise ops, iota, reductions, matmul and
// permute/expand are linalg.generic ops whose bodies use arith and math; slices, pads and concats
// are tensor.extract_slice/insert_slice; reshapes collapse and expand. The element semantics are
// ir/semantics.h's: integers wrap, bool and uint8 compare, divide and widen as unsigned, max/min
// propagate NaN, argmax keeps the first extreme and counts NaN as one.
#include <algorithm>
#include <string>

#include "codegen/mlir/internal.h"
#include "ir/ops.h"
#include "ir/semantics.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"

namespace kiln::codegen::mlir {

using ::mlir::AffineExpr;
using ::mlir::AffineMap;
using ::mlir::Location;
using ::mlir::OpBuilder;
using ::mlir::OpFoldResult;
using ::mlir::Type;
using ::mlir::Value;
using ::mlir::ValueRange;
namespace arith = ::mlir::arith;
namespace linalg = ::mlir::linalg;
namespace math = ::mlir::math;
namespace tensor = ::mlir::tensor;
using IteratorType = ::mlir::utils::IteratorType;

namespace {

[[noreturn]] void unsupported(const ir::Node& n, const std::string& what) {
  throw Error(std::string(ir::op_name(n.op)), what + " has no MLIR export", n.loc);
}

int bit_width(ScalarType t) { return t == kBool ? 1 : static_cast<int>(element_size(t) * 8); }

::mlir::TypedAttr scalar_attr(OpBuilder& b, const Scalar& value, ScalarType dtype) {
  Type type = element_type(b, dtype);
  if (is_floating(dtype)) return b.getFloatAttr(type, value.to<double>());
  int64_t v = dispatch_dtype(dtype, [&]<typename T>() { return static_cast<int64_t>(value.to<T>()); });
  int width = bit_width(dtype);
  uint64_t bits = width == 64 ? static_cast<uint64_t>(v) : static_cast<uint64_t>(v) & ((uint64_t{1} << width) - 1);
  return b.getIntegerAttr(type, ::llvm::APInt(width, bits));
}

AffineMap identity_map(OpBuilder& b, size_t rank) { return AffineMap::getMultiDimIdentityMap(rank, b.getContext()); }

using Body = ::llvm::function_ref<::llvm::SmallVector<Value>(OpBuilder&, Location, ValueRange)>;

// A linalg.generic over `loops`: `inputs` read through `input_maps`, one output per init tensor
// written through `output_map`; body(inputs' elements, outputs' elements) gives the yielded values.
::mlir::ValueRange generic(OpBuilder& b, Location loc, size_t loops, ValueRange inputs,
                           ::llvm::ArrayRef<AffineMap> input_maps, ValueRange inits, AffineMap output_map,
                           ::llvm::ArrayRef<IteratorType> iterators, Body body) {
  ::llvm::SmallVector<AffineMap> maps(input_maps.begin(), input_maps.end());
  maps.append(inits.size(), output_map);
  ::llvm::SmallVector<IteratorType> its(iterators.begin(), iterators.end());
  if (its.empty()) its.assign(loops, IteratorType::parallel);
  auto op = b.create<linalg::GenericOp>(loc, ValueRange(inits).getTypes(), inputs, inits, maps, its,
                                        [&](OpBuilder& nb, Location l, ValueRange args) {
                                          nb.create<linalg::YieldOp>(l, body(nb, l, args));
                                        });
  return op.getResults();
}

// Elementwise over operands of the result's shape: body(elements) -> the result's element.
Value map_elements(OpBuilder& b, Location loc, const ir::Node& n, ValueRange inputs,
                   ::llvm::function_ref<Value(OpBuilder&, Location, ValueRange)> body) {
  size_t rank = n.shape.size();
  Value init = b.create<tensor::EmptyOp>(loc, n.shape, element_type(b, n.dtype));
  ::llvm::SmallVector<AffineMap> maps(inputs.size(), identity_map(b, rank));
  return generic(b, loc, rank, inputs, maps, init, identity_map(b, rank), {},
                 [&](OpBuilder& nb, Location l, ValueRange args) -> ::llvm::SmallVector<Value> {
                   return {body(nb, l, args.drop_back())};
                 })[0];
}

Value filled(OpBuilder& b, Location loc, const Shape& shape, const Scalar& value, ScalarType dtype) {
  Value empty = b.create<tensor::EmptyOp>(loc, shape, element_type(b, dtype));
  Value fill = scalar_constant(b, loc, value, dtype);
  return b.create<linalg::FillOp>(loc, ValueRange{fill}, ValueRange{empty}).getResult(0);
}

// ---- elementwise ----

Value unary_element(OpBuilder& b, Location l, const ir::Node& n, Value v) {
  ScalarType t = n.dtype;
  if (is_floating(t)) {
    switch (n.op) {
      case ir::Op::Neg: return b.create<arith::NegFOp>(l, v);
      case ir::Op::Abs: return b.create<math::AbsFOp>(l, v);
      case ir::Op::Exp: return b.create<math::ExpOp>(l, v);
      case ir::Op::Log: return b.create<math::LogOp>(l, v);
      case ir::Op::Sqrt: return b.create<math::SqrtOp>(l, v);
      case ir::Op::Tanh: return b.create<math::TanhOp>(l, v);
      case ir::Op::Erf: return b.create<math::ErfOp>(l, v);
      case ir::Op::Sin: return b.create<math::SinOp>(l, v);
      case ir::Op::Cos: return b.create<math::CosOp>(l, v);
      case ir::Op::Floor: return b.create<math::FloorOp>(l, v);
      case ir::Op::Ceil: return b.create<math::CeilOp>(l, v);
      case ir::Op::Round: return b.create<math::RoundEvenOp>(l, v);
      case ir::Op::Trunc: return b.create<math::TruncOp>(l, v);
      default: break;
    }
  } else if (t != kBool) {
    switch (n.op) {
      case ir::Op::Neg: return b.create<arith::SubIOp>(l, scalar_constant(b, l, Scalar(0), t), v);
      case ir::Op::Abs: {
        if (is_unsigned(t)) return v;
        Value zero = scalar_constant(b, l, Scalar(0), t);
        Value negative = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, v, zero);
        return b.create<arith::SelectOp>(l, negative, b.create<arith::SubIOp>(l, zero, v), v);
      }
      case ir::Op::Floor:
      case ir::Op::Ceil:
      case ir::Op::Round:
      case ir::Op::Trunc: return v;
      default: break;
    }
  }
  unsupported(n, std::string(dtype_name(t)) + " " + std::string(ir::op_name(n.op)));
}

Value binary_element(OpBuilder& b, Location l, ir::Op op, ScalarType t, Value x, Value y, const ir::Node& n) {
  if (is_floating(t)) {
    switch (op) {
      case ir::Op::Add: return b.create<arith::AddFOp>(l, x, y);
      case ir::Op::Sub: return b.create<arith::SubFOp>(l, x, y);
      case ir::Op::Mul: return b.create<arith::MulFOp>(l, x, y);
      case ir::Op::Div: return b.create<arith::DivFOp>(l, x, y);
      case ir::Op::Pow: return b.create<math::PowFOp>(l, x, y);
      case ir::Op::Maximum: return b.create<arith::MaximumFOp>(l, x, y);
      case ir::Op::Minimum: return b.create<arith::MinimumFOp>(l, x, y);
      default: break;
    }
  } else if (t == kBool) {  // bool's + and max are `or`, * and min are `and`
    switch (op) {
      case ir::Op::Add:
      case ir::Op::Maximum: return b.create<arith::OrIOp>(l, x, y);
      case ir::Op::Mul:
      case ir::Op::Minimum: return b.create<arith::AndIOp>(l, x, y);
      default: break;
    }
  } else {
    bool u = is_unsigned(t);
    switch (op) {
      case ir::Op::Add: return b.create<arith::AddIOp>(l, x, y);
      case ir::Op::Sub: return b.create<arith::SubIOp>(l, x, y);
      case ir::Op::Mul: return b.create<arith::MulIOp>(l, x, y);
      case ir::Op::Div: return u ? Value(b.create<arith::DivUIOp>(l, x, y)) : Value(b.create<arith::DivSIOp>(l, x, y));
      case ir::Op::Pow: return b.create<math::IPowIOp>(l, x, y);
      case ir::Op::Maximum: return u ? Value(b.create<arith::MaxUIOp>(l, x, y)) : Value(b.create<arith::MaxSIOp>(l, x, y));
      case ir::Op::Minimum: return u ? Value(b.create<arith::MinUIOp>(l, x, y)) : Value(b.create<arith::MinSIOp>(l, x, y));
      default: break;
    }
  }
  unsupported(n, std::string(dtype_name(t)) + " " + std::string(ir::op_name(op)));
}

Value compare_element(OpBuilder& b, Location l, ir::Op op, ScalarType t, Value x, Value y) {
  if (is_floating(t)) {
    using P = arith::CmpFPredicate;  // ordered but for `ne`: NaN compares unequal to everything
    P p = op == ir::Op::Eq ? P::OEQ : op == ir::Op::Ne ? P::UNE : op == ir::Op::Lt ? P::OLT
        : op == ir::Op::Le ? P::OLE : op == ir::Op::Gt ? P::OGT : P::OGE;
    return b.create<arith::CmpFOp>(l, p, x, y);
  }
  using P = arith::CmpIPredicate;
  bool u = is_unsigned(t);
  P p = op == ir::Op::Eq ? P::eq : op == ir::Op::Ne ? P::ne
      : op == ir::Op::Lt ? (u ? P::ult : P::slt) : op == ir::Op::Le ? (u ? P::ule : P::sle)
      : op == ir::Op::Gt ? (u ? P::ugt : P::sgt) : (u ? P::uge : P::sge);
  return b.create<arith::CmpIOp>(l, p, x, y);
}

Value elementwise(OpBuilder& b, Location loc, const ir::Node& n, ValueRange operands) {
  ScalarType in = n.inputs.back()->dtype;  // where's condition is first
  return map_elements(b, loc, n, operands, [&](OpBuilder& nb, Location l, ValueRange e) -> Value {
    switch (ir::op_kind(n.op)) {
      case ir::OpKind::Unary: return unary_element(nb, l, n, e[0]);
      case ir::OpKind::Binary: return binary_element(nb, l, n.op, n.dtype, e[0], e[1], n);
      case ir::OpKind::Compare: return compare_element(nb, l, n.op, in, e[0], e[1]);
      case ir::OpKind::Select: return nb.create<arith::SelectOp>(l, e[0], e[1], e[2]);
      default: return convert(nb, l, e[0], n.inputs[0]->dtype, n.dtype);  // cast
    }
  });
}

// ---- sources ----

// Element i (row-major) of an iota: start + i * delta, in double for floats as the reference does.
Value iota(OpBuilder& b, Location loc, const ir::Node& n) {
  size_t rank = n.shape.size();
  Value init = b.create<tensor::EmptyOp>(loc, n.shape, element_type(b, n.dtype));
  Shape strides = contiguous_strides(n.shape);
  return generic(b, loc, rank, {}, {}, init, identity_map(b, rank), {},
                 [&](OpBuilder& nb, Location l, ValueRange) -> ::llvm::SmallVector<Value> {
                   Value i = nb.create<arith::ConstantIndexOp>(l, 0);
                   for (size_t d = 0; d < rank; ++d) {
                     Value at = nb.create<linalg::IndexOp>(l, d);
                     Value stride = nb.create<arith::ConstantIndexOp>(l, strides[d]);
                     i = nb.create<arith::AddIOp>(l, i, nb.create<arith::MulIOp>(l, at, stride));
                   }
                   Value i64 = nb.create<arith::IndexCastOp>(l, nb.getI64Type(), i);
                   ScalarType wide = is_floating(n.dtype) ? kFloat64 : kInt64;
                   Value index = convert(nb, l, i64, kInt64, wide);
                   Value start = scalar_constant(nb, l, n.attrs.value, wide);
                   Value delta = scalar_constant(nb, l, n.attrs.delta, wide);
                   Value v = binary_element(nb, l, ir::Op::Add, wide, start,
                                            binary_element(nb, l, ir::Op::Mul, wide, index, delta, n), n);
                   return {convert(nb, l, v, wide, n.dtype)};
                 })[0];
}

Value full(OpBuilder& b, Location loc, const ir::Node& n) {
  auto type = tensor_type(b, n.shape, n.dtype);
  return b.create<arith::ConstantOp>(loc, ::mlir::DenseElementsAttr::get(type, scalar_attr(b, n.attrs.value, n.dtype)));
}

// ---- reductions ----

template <typename T>
Scalar as_scalar(T v) {
  if constexpr (std::is_same_v<T, bool>) return Scalar(v);
  else if constexpr (std::is_floating_point_v<T>) return Scalar(static_cast<double>(v));
  else return Scalar(static_cast<int64_t>(v));
}

Value reduce(OpBuilder& b, Location loc, const ir::Node& n, Value x) {
  const ir::Node& in = *n.inputs[0];
  size_t rank = in.shape.size();
  ScalarType t = in.dtype;
  Shape kept;
  ::llvm::SmallVector<AffineExpr> out_exprs;
  ::llvm::SmallVector<IteratorType> its(rank, IteratorType::parallel);
  for (int64_t a : n.attrs.axes) its[a] = IteratorType::reduction;
  for (size_t d = 0; d < rank; ++d)
    if (its[d] == IteratorType::parallel) {
      kept.push_back(in.shape[d]);
      out_exprs.push_back(b.getAffineDimExpr(d));
    }
  AffineMap out_map = AffineMap::get(rank, 0, out_exprs, b.getContext());
  Scalar identity = dispatch_dtype(t, [&]<typename T>() { return as_scalar(ir::reduction_identity<T>(n.op)); });
  ::llvm::SmallVector<Value> inits = {filled(b, loc, kept, identity, t)};
  if (ir::is_arg_reduction(n.op)) inits.push_back(filled(b, loc, kept, Scalar(0), kInt64));
  ValueRange results = generic(
      b, loc, rank, x, identity_map(b, rank), inits, out_map, its,
      [&](OpBuilder& nb, Location l, ValueRange e) -> ::llvm::SmallVector<Value> {
        Value v = e[0], acc = e[1];
        switch (n.op) {
          case ir::Op::ReduceSum: return {binary_element(nb, l, ir::Op::Add, t, acc, v, n)};
          case ir::Op::ReduceProd: return {binary_element(nb, l, ir::Op::Mul, t, acc, v, n)};
          case ir::Op::ReduceMax: return {binary_element(nb, l, ir::Op::Maximum, t, acc, v, n)};
          case ir::Op::ReduceMin: return {binary_element(nb, l, ir::Op::Minimum, t, acc, v, n)};
          default: break;
        }
        // argmax/argmin (ir::arg_replaces): v replaces the extreme when it is NaN or beyond it,
        // unless the extreme is NaN already.
        Value replaces = compare_element(nb, l, n.op == ir::Op::ArgMax ? ir::Op::Gt : ir::Op::Lt, t, v, acc);
        if (is_floating(t)) {
          Value v_nan = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::UNO, v, v);
          Value acc_number = nb.create<arith::CmpFOp>(l, arith::CmpFPredicate::ORD, acc, acc);
          replaces = nb.create<arith::AndIOp>(l, acc_number, nb.create<arith::OrIOp>(l, v_nan, replaces));
        }
        Value at = nb.create<linalg::IndexOp>(l, n.attrs.axes[0]);
        Value position = nb.create<arith::IndexCastOp>(l, nb.getI64Type(), at);
        return {nb.create<arith::SelectOp>(l, replaces, v, acc), nb.create<arith::SelectOp>(l, replaces, position, e[2])};
      });
  return reshape(b, loc, results[ir::is_arg_reduction(n.op) ? 1 : 0], n.shape);
}

// [..., M, K] x [..., K, N]: loops (batch..., m, n, k), k the reduction.
Value matmul(OpBuilder& b, Location loc, const ir::Node& n, Value x, Value y) {
  size_t batch = n.shape.size() - 2, loops = batch + 3;
  auto dims = [&](std::initializer_list<size_t> last) {
    ::llvm::SmallVector<AffineExpr> e;
    for (size_t d = 0; d < batch; ++d) e.push_back(b.getAffineDimExpr(d));
    for (size_t d : last) e.push_back(b.getAffineDimExpr(batch + d));
    return AffineMap::get(loops, 0, e, b.getContext());
  };
  ::llvm::SmallVector<IteratorType> its(loops, IteratorType::parallel);
  its.back() = IteratorType::reduction;
  Value init = filled(b, loc, n.shape, Scalar(0), n.dtype);
  return generic(b, loc, loops, {x, y}, {dims({0, 2}), dims({2, 1})}, init, dims({0, 1}), its,
                 [&](OpBuilder& nb, Location l, ValueRange e) -> ::llvm::SmallVector<Value> {
                   Value product = binary_element(nb, l, ir::Op::Mul, n.dtype, e[0], e[1], n);
                   return {binary_element(nb, l, ir::Op::Add, n.dtype, e[2], product, n)};
                 })[0];
}

// ---- movement ----

// Reads x through `exprs` (one per input axis, over the result's loops).
Value gather(OpBuilder& b, Location loc, const ir::Node& n, Value x, ::llvm::ArrayRef<AffineExpr> exprs) {
  size_t rank = n.shape.size();
  Value init = b.create<tensor::EmptyOp>(loc, n.shape, element_type(b, n.dtype));
  AffineMap in_map = AffineMap::get(rank, 0, exprs, b.getContext());
  return generic(b, loc, rank, x, in_map, init, identity_map(b, rank), {},
                 [&](OpBuilder&, Location, ValueRange e) -> ::llvm::SmallVector<Value> { return {e[0]}; })[0];
}

::llvm::SmallVector<OpFoldResult> index_attrs(OpBuilder& b, const std::vector<int64_t>& v) {
  ::llvm::SmallVector<OpFoldResult> r;
  for (int64_t x : v) r.push_back(b.getIndexAttr(x));
  return r;
}

Value movement(OpBuilder& b, Location loc, const ir::Node& n, ::llvm::ArrayRef<Value> in) {
  const Shape& from = n.inputs[0]->shape;
  switch (n.op) {
    case ir::Op::Reshape: return reshape(b, loc, in[0], n.shape);
    case ir::Op::Permute: {
      std::vector<int64_t> inverse = ir::inverse_permutation(n.attrs.axes);
      ::llvm::SmallVector<AffineExpr> e;
      for (int64_t d : inverse) e.push_back(b.getAffineDimExpr(d));
      return gather(b, loc, n, in[0], e);
    }
    case ir::Op::Expand: {
      ::llvm::SmallVector<AffineExpr> e;
      for (size_t d = 0; d < from.size(); ++d)
        e.push_back(from[d] == 1 && n.shape[d] != 1 ? b.getAffineConstantExpr(0) : b.getAffineDimExpr(d));
      return gather(b, loc, n, in[0], e);
    }
    case ir::Op::Slice:
      return b.create<tensor::ExtractSliceOp>(loc, in[0], index_attrs(b, n.attrs.low), index_attrs(b, n.shape),
                                              index_attrs(b, n.attrs.step));
    case ir::Op::Pad: {
      Value base = filled(b, loc, n.shape, n.attrs.value, n.dtype);
      std::vector<int64_t> strides;
      for (int64_t i : n.attrs.interior) strides.push_back(i + 1);
      return b.create<tensor::InsertSliceOp>(loc, in[0], base, index_attrs(b, n.attrs.low), index_attrs(b, from),
                                             index_attrs(b, strides));
    }
    case ir::Op::Concat: {
      int64_t axis = n.attrs.axes[0];
      Value result = b.create<tensor::EmptyOp>(loc, n.shape, element_type(b, n.dtype));
      std::vector<int64_t> offsets(n.shape.size(), 0), strides(n.shape.size(), 1);
      for (size_t i = 0; i < in.size(); ++i) {
        const Shape& part = n.inputs[i]->shape;
        result = b.create<tensor::InsertSliceOp>(loc, in[i], result, index_attrs(b, offsets), index_attrs(b, part),
                                                 index_attrs(b, strides));
        offsets[axis] += part[axis];
      }
      return result;
    }
    default: unsupported(n, "this movement op");
  }
}

}  // namespace

Type element_type(OpBuilder& b, ScalarType dtype) {
  switch (dtype) {
    case kFloat16: return b.getF16Type();
    case kBFloat16: return b.getBF16Type();
    case kFloat32: return b.getF32Type();
    case kFloat64: return b.getF64Type();
    default: return b.getIntegerType(bit_width(dtype));
  }
}

::mlir::RankedTensorType tensor_type(OpBuilder& b, const Shape& shape, ScalarType dtype) {
  return ::mlir::RankedTensorType::get(shape, element_type(b, dtype));
}

Value scalar_constant(OpBuilder& b, Location loc, const Scalar& value, ScalarType dtype) {
  return b.create<arith::ConstantOp>(loc, scalar_attr(b, value, dtype));
}

Value buffer_constant(OpBuilder& b, Location loc, const ir::Node& buffer) {
  check(!buffer.storage || !buffer.storage->device_memory(), "export", buffer.loc, [&] {
    return "a buffer in " + buffer.device.str() + " memory cannot be exported; move it to the CPU first";
  });
  auto type = tensor_type(b, buffer.shape, buffer.dtype);
  ::mlir::DenseElementsAttr values = dispatch_dtype(buffer.dtype, [&]<typename T>() {
    const T* p = buffer.data<T>();
    if constexpr (is_reduced_float_v<T>)  // the bits as they are
      return ::mlir::DenseElementsAttr::getFromRawBuffer(
          type, ::llvm::ArrayRef<char>(reinterpret_cast<const char*>(p), buffer.numel() * sizeof(T)));
    else
      return ::mlir::DenseElementsAttr::get(type, ::llvm::ArrayRef<T>(p, p + buffer.numel()));
  });
  return b.create<arith::ConstantOp>(loc, values);
}

Value convert(OpBuilder& b, Location loc, Value v, ScalarType from, ScalarType to) {
  if (from == to) return v;
  Type type = element_type(b, to);
  if (to == kBool) {  // non-zero is true (NaN too)
    if (is_floating(from))
      return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNE, v, scalar_constant(b, loc, Scalar(0.0), from));
    return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, v, scalar_constant(b, loc, Scalar(0), from));
  }
  if (is_floating(from) && is_floating(to)) {
    if (element_size(to) > element_size(from)) return b.create<arith::ExtFOp>(loc, type, v);
    return b.create<arith::TruncFOp>(loc, type, v);
  }
  if (is_floating(from))
    return is_unsigned(to) ? Value(b.create<arith::FPToUIOp>(loc, type, v)) : Value(b.create<arith::FPToSIOp>(loc, type, v));
  if (is_floating(to))
    return is_unsigned(from) ? Value(b.create<arith::UIToFPOp>(loc, type, v)) : Value(b.create<arith::SIToFPOp>(loc, type, v));
  int wf = bit_width(from), wt = bit_width(to);
  if (wt > wf)
    return is_unsigned(from) ? Value(b.create<arith::ExtUIOp>(loc, type, v)) : Value(b.create<arith::ExtSIOp>(loc, type, v));
  if (wt < wf) return b.create<arith::TruncIOp>(loc, type, v);
  return v;  // int8 <-> uint8: the same bits
}

Value reshape(OpBuilder& b, Location loc, Value from, const Shape& shape) {
  auto type = ::mlir::cast<::mlir::RankedTensorType>(from.getType());
  Shape have(type.getShape().begin(), type.getShape().end());
  if (have == shape) return from;
  auto to = ::mlir::RankedTensorType::get(shape, type.getElementType());
  auto all = [](size_t rank) {
    ::mlir::ReassociationIndices group;
    for (size_t d = 0; d < rank; ++d) group.push_back(static_cast<int64_t>(d));
    return ::llvm::SmallVector<::mlir::ReassociationIndices>{group};
  };
  // A rank-0 tensor has one element: expand it, or collapse to it, with no groups.
  if (have.empty()) return b.create<tensor::ExpandShapeOp>(loc, to, from, ::llvm::ArrayRef<::mlir::ReassociationIndices>{});
  if (shape.empty()) return b.create<tensor::CollapseShapeOp>(loc, to, from, ::llvm::ArrayRef<::mlir::ReassociationIndices>{});
  Value flat = from;
  if (have.size() != 1)
    flat = b.create<tensor::CollapseShapeOp>(
        loc, ::mlir::RankedTensorType::get({numel(have)}, type.getElementType()), from, all(have.size()));
  if (shape.size() == 1) return flat;
  return b.create<tensor::ExpandShapeOp>(loc, to, flat, all(shape.size()));
}

Location location(OpBuilder& b, const ir::Node& n) {
  Location loc = n.loc.file && *n.loc.file ? Location(::mlir::FileLineColLoc::get(b.getStringAttr(n.loc.file), n.loc.line, 0))
                                          : Location(b.getUnknownLoc());
  if (n.composite) return ::mlir::NameLoc::get(b.getStringAttr(n.composite), loc);
  return loc;
}

Value lower_node(OpBuilder& b, const ir::Node& n, const std::unordered_map<const ir::Node*, Value>& values) {
  // MLIR's arith computes on f16/bf16 in 16 bits and its reductions accumulate there; Kiln computes
  // in float32 and rounds each result (ir/half.h). The export would disagree with the graph, so it
  // rejects them instead.
  auto reduced = [](const ir::NodePtr& i) { return is_reduced_float(i->dtype); };
  if (is_reduced_float(n.dtype) || std::any_of(n.inputs.begin(), n.inputs.end(), reduced))
    unsupported(n, "float16/bfloat16 (computed in float32 and rounded per op)");
  Location loc = location(b, n);
  ::llvm::SmallVector<Value> in;
  for (const ir::NodePtr& i : n.inputs) in.push_back(values.at(i.get()));
  switch (ir::op_kind(n.op)) {
    case ir::OpKind::Source:
      if (n.op == ir::Op::Full) return full(b, loc, n);
      if (n.op == ir::Op::Iota) return iota(b, loc, n);
      if (n.op == ir::Op::Buffer) return buffer_constant(b, loc, n);
      unsupported(n, "a random op (Philox)");
    case ir::OpKind::Transfer: return in[0];  // one address space here
    case ir::OpKind::Reduce: return reduce(b, loc, n, in[0]);
    case ir::OpKind::Movement: return movement(b, loc, n, in);
    case ir::OpKind::Contraction: return matmul(b, loc, n, in[0], in[1]);
    default: return elementwise(b, loc, n, in);
  }
}

}  // namespace kiln::codegen::mlir
