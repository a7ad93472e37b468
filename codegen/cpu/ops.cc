// Scalar operations of the kernel IR as LLVM IR, with the reference executor's semantics
// (ir/semantics.h): integer add/sub/mul/neg wrap (no nsw), float maximum/minimum propagate NaN
// (llvm.maximum/minimum), integer pow squares, casts to bool test for non-zero, abs(-0.0) stays
// -0.0. Float arithmetic carries no fast-math flags (so no contraction into FMAs) except the
// reassociation that lets float sum reductions vectorize.
#include <limits>
#include <stdexcept>
#include <string>

#include "codegen/cpu/internal.h"
#include "ir/semantics.h"

namespace kiln::codegen::cpu {

using ir::Op;
using llvm::Value;

namespace {

bool is_float(ScalarType t) { return t == kFloat32 || t == kFloat64; }

[[noreturn]] void unsupported(Op op, ScalarType t) {
  throw std::invalid_argument("llvm backend: " + std::string(ir::op_name(op)) + " is not defined on " +
                              std::string(dtype_name(t)));
}

// base^e for integers by squaring, unrolled over the exponent's bits with selects so that it
// vectorizes; negative exponents give 1 for base 1, +-1 for base -1 and 0 otherwise.
Value* integer_pow(llvm::IRBuilder<>& b, Value* base, Value* e) {
  auto* ty = llvm::cast<llvm::IntegerType>(base->getType());
  unsigned bits = ty->getBitWidth();
  auto k = [&](int64_t v) { return llvm::ConstantInt::get(ty, v, true); };
  Value* result = k(1);
  Value* sq = base;
  for (unsigned i = 0; i + 1 < bits; ++i) {
    Value* bit = b.CreateICmpNE(b.CreateAnd(b.CreateLShr(e, k(i)), k(1)), k(0));
    result = b.CreateSelect(bit, b.CreateMul(result, sq), result);
    if (i + 2 < bits) sq = b.CreateMul(sq, sq);
  }
  Value* odd = b.CreateICmpNE(b.CreateAnd(e, k(1)), k(0));
  Value* neg_result = b.CreateSelect(b.CreateICmpEQ(base, k(1)), k(1),
                                     b.CreateSelect(b.CreateICmpEQ(base, k(-1)), b.CreateSelect(odd, k(-1), k(1)), k(0)));
  return b.CreateSelect(b.CreateICmpSLT(e, k(0)), neg_result, result);
}

Value* unary(llvm::IRBuilder<>& b, Op op, ScalarType t, Value* x, const TargetInfo& target) {
  if (is_float(t)) {
    switch (op) {
      case Op::Neg: return b.CreateFNeg(x);
      case Op::Abs: return b.CreateSelect(b.CreateFCmpOLT(x, llvm::ConstantFP::get(x->getType(), 0.0)), b.CreateFNeg(x), x);
      case Op::Sqrt: return b.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt, x);
      case Op::Exp: return emit_math(b, MathFn::Exp, x, nullptr, target);
      case Op::Log: return emit_math(b, MathFn::Log, x, nullptr, target);
      case Op::Tanh: return emit_math(b, MathFn::Tanh, x, nullptr, target);
      case Op::Erf: return emit_math(b, MathFn::Erf, x, nullptr, target);
      case Op::Sin: return emit_math(b, MathFn::Sin, x, nullptr, target);
      case Op::Cos: return emit_math(b, MathFn::Cos, x, nullptr, target);
      case Op::Floor: return b.CreateUnaryIntrinsic(llvm::Intrinsic::floor, x);
      case Op::Ceil: return b.CreateUnaryIntrinsic(llvm::Intrinsic::ceil, x);
      case Op::Round: return b.CreateUnaryIntrinsic(llvm::Intrinsic::roundeven, x);
      case Op::Trunc: return b.CreateUnaryIntrinsic(llvm::Intrinsic::trunc, x);
      default: break;
    }
  } else if (t == kBool) {
    if (op == Op::Neg || op == Op::Abs) return x;  // rejected by the front end; identity
  } else {
    switch (op) {
      case Op::Neg: return b.CreateNeg(x);
      case Op::Abs: return is_unsigned(t) ? x : b.CreateBinaryIntrinsic(llvm::Intrinsic::abs, x, b.getFalse());
      default: break;
    }
  }
  unsupported(op, t);
}

Value* binary(llvm::IRBuilder<>& b, Op op, ScalarType t, Value* x, Value* y, const TargetInfo& target) {
  if (is_float(t)) {
    switch (op) {
      case Op::Add: return b.CreateFAdd(x, y);
      case Op::Sub: return b.CreateFSub(x, y);
      case Op::Mul: return b.CreateFMul(x, y);
      case Op::Div: return b.CreateFDiv(x, y);
      case Op::Pow: return emit_math(b, MathFn::Pow, x, y, target);
      case Op::Maximum: return b.CreateBinaryIntrinsic(llvm::Intrinsic::maximum, x, y);
      case Op::Minimum: return b.CreateBinaryIntrinsic(llvm::Intrinsic::minimum, x, y);
      default: break;
    }
  } else if (t == kBool) {
    switch (op) {
      case Op::Add: return b.CreateOr(x, y);
      case Op::Sub: return b.CreateXor(x, y);
      case Op::Mul: return b.CreateAnd(x, y);
      case Op::Div: return x;  // x / true; x / false is undefined
      case Op::Pow: return b.CreateOr(x, b.CreateNot(y));
      case Op::Maximum: return b.CreateOr(x, y);
      case Op::Minimum: return b.CreateAnd(x, y);
      default: break;
    }
  } else {
    switch (op) {
      case Op::Add: return b.CreateAdd(x, y);
      case Op::Sub: return b.CreateSub(x, y);
      case Op::Mul: return b.CreateMul(x, y);
      case Op::Div: {
        // Truncating division, made total: x / 0 gives x, x / -1 wraps (INT_MIN / -1 = INT_MIN).
        auto* ty = x->getType();
        if (is_unsigned(t))
          return b.CreateUDiv(x, b.CreateSelect(b.CreateICmpEQ(y, llvm::ConstantInt::get(ty, 0)), llvm::ConstantInt::get(ty, 1), y));
        Value* minus_one = b.CreateICmpEQ(y, llvm::ConstantInt::get(ty, -1, true));
        Value* bad = b.CreateOr(minus_one, b.CreateICmpEQ(y, llvm::ConstantInt::get(ty, 0)));
        Value* q = b.CreateSDiv(x, b.CreateSelect(bad, llvm::ConstantInt::get(ty, 1), y));
        return b.CreateSelect(minus_one, b.CreateNeg(x), q);
      }
      case Op::Pow: return integer_pow(b, x, y);
      case Op::Maximum: return b.CreateBinaryIntrinsic(is_unsigned(t) ? llvm::Intrinsic::umax : llvm::Intrinsic::smax, x, y);
      case Op::Minimum: return b.CreateBinaryIntrinsic(is_unsigned(t) ? llvm::Intrinsic::umin : llvm::Intrinsic::smin, x, y);
      default: break;
    }
  }
  unsupported(op, t);
}

Value* compare(llvm::IRBuilder<>& b, Op op, ScalarType t, Value* x, Value* y) {
  using P = llvm::CmpInst::Predicate;
  P p;
  if (is_float(t)) {
    switch (op) {
      case Op::Eq: p = P::FCMP_OEQ; break;
      case Op::Ne: p = P::FCMP_UNE; break;  // NaN != anything
      case Op::Lt: p = P::FCMP_OLT; break;
      case Op::Le: p = P::FCMP_OLE; break;
      case Op::Gt: p = P::FCMP_OGT; break;
      case Op::Ge: p = P::FCMP_OGE; break;
      default: unsupported(op, t);
    }
    return b.CreateFCmp(p, x, y);
  }
  bool u = is_unsigned(t);  // false < true; uint8
  switch (op) {
    case Op::Eq: p = P::ICMP_EQ; break;
    case Op::Ne: p = P::ICMP_NE; break;
    case Op::Lt: p = u ? P::ICMP_ULT : P::ICMP_SLT; break;
    case Op::Le: p = u ? P::ICMP_ULE : P::ICMP_SLE; break;
    case Op::Gt: p = u ? P::ICMP_UGT : P::ICMP_SGT; break;
    case Op::Ge: p = u ? P::ICMP_UGE : P::ICMP_SGE; break;
    default: unsupported(op, t);
  }
  return b.CreateICmp(p, x, y);
}

}  // namespace

llvm::Type* register_type(llvm::LLVMContext& ctx, ScalarType t) {
  switch (t) {
    case kBool: return llvm::Type::getInt1Ty(ctx);
    case kUInt8:
    case kInt8: return llvm::Type::getInt8Ty(ctx);
    case kInt16:
    case kFloat16:
    case kBFloat16: return llvm::Type::getInt16Ty(ctx);
    case kInt32: return llvm::Type::getInt32Ty(ctx);
    case kInt64: return llvm::Type::getInt64Ty(ctx);
    case kFloat32: return llvm::Type::getFloatTy(ctx);
    case kFloat64: break;
  }
  return llvm::Type::getDoubleTy(ctx);
}

llvm::Type* memory_type(llvm::LLVMContext& ctx, ScalarType t) {
  return t == kBool ? llvm::Type::getInt8Ty(ctx) : register_type(ctx, t);
}

llvm::Constant* constant_of(llvm::LLVMContext& ctx, const Scalar& s, ScalarType t) {
  switch (t) {
    case kBool: return llvm::ConstantInt::getBool(ctx, s.to<bool>());
    case kUInt8: return llvm::ConstantInt::get(llvm::Type::getInt8Ty(ctx), s.to<uint8_t>(), false);
    case kInt8: return llvm::ConstantInt::get(llvm::Type::getInt8Ty(ctx), s.to<int8_t>(), true);
    case kInt16: return llvm::ConstantInt::get(llvm::Type::getInt16Ty(ctx), s.to<int16_t>(), true);
    case kInt32: return llvm::ConstantInt::get(llvm::Type::getInt32Ty(ctx), s.to<int32_t>(), true);
    case kInt64: return llvm::ConstantInt::get(llvm::Type::getInt64Ty(ctx), s.to<int64_t>(), true);
    case kFloat16: return llvm::ConstantInt::get(llvm::Type::getInt16Ty(ctx), s.to<Half>().bits);
    case kBFloat16: return llvm::ConstantInt::get(llvm::Type::getInt16Ty(ctx), s.to<BFloat16>().bits);
    case kFloat32: return llvm::ConstantFP::get(ctx, llvm::APFloat(s.to<float>()));
    case kFloat64: break;
  }
  return llvm::ConstantFP::get(ctx, llvm::APFloat(s.to<double>()));
}

Value* emit_convert(llvm::IRBuilder<>& b, Value* v, ScalarType from, ScalarType to) {
  if (from == to) return v;
  if (is_reduced_float(from)) return emit_convert(b, emit_to_float32(b, v, from), kFloat32, to);
  if (is_reduced_float(to)) return emit_from_float32(b, emit_convert(b, v, from, kFloat32), to);
  llvm::Type* ty = register_type(b.getContext(), to);
  if (to == kBool) {
    if (is_float(from)) return b.CreateFCmpUNE(v, llvm::ConstantFP::get(v->getType(), 0.0));
    return b.CreateICmpNE(v, llvm::ConstantInt::get(v->getType(), 0));
  }
  if (is_float(from) && is_float(to)) return b.CreateFPCast(v, ty);
  if (is_float(from)) return is_unsigned(to) ? b.CreateFPToUI(v, ty) : b.CreateFPToSI(v, ty);
  if (is_unsigned(from)) return is_float(to) ? b.CreateUIToFP(v, ty) : b.CreateZExtOrTrunc(v, ty);
  if (is_float(to)) return b.CreateSIToFP(v, ty);
  return b.CreateSExtOrTrunc(v, ty);
}

Value* emit_elementwise(llvm::IRBuilder<>& b, Op op, ScalarType result, std::vector<Value*> x,
                        const std::vector<ScalarType>& types, const TargetInfo& target) {
  auto expect = [&](size_t n) {
    if (x.size() != n || types.size() != n)
      throw std::invalid_argument("llvm backend: " + std::string(ir::op_name(op)) + " takes " + std::to_string(n) +
                                  " operands, got " + std::to_string(x.size()));
  };
  // Arithmetic happens in compute_dtype (float32 for float16, bfloat16), rounded back to `result`.
  // Operands convert to the op's type first (so a float16 operand is rounded as the reference's is).
  auto operand = [&](size_t i, ScalarType t) {
    return emit_convert(b, emit_convert(b, x[i], types[i], t), t, compute_dtype(t));
  };
  ScalarType ct = compute_dtype(result);
  switch (ir::op_kind(op)) {
    case ir::OpKind::Unary:
      expect(1);
      return emit_convert(b, unary(b, op, ct, operand(0, result), target), ct, result);
    case ir::OpKind::Binary:
      expect(2);
      return emit_convert(b, binary(b, op, ct, operand(0, result), operand(1, result), target), ct, result);
    case ir::OpKind::Compare: {
      expect(2);
      ScalarType t = promote_types(types[0], types[1]);
      Value* c = compare(b, op, compute_dtype(t), operand(0, t), operand(1, t));
      return emit_convert(b, c, kBool, result);
    }
    case ir::OpKind::Select:
      expect(3);
      return b.CreateSelect(emit_convert(b, x[0], types[0], kBool), emit_convert(b, x[1], types[1], result),
                            emit_convert(b, x[2], types[2], result));
    case ir::OpKind::Cast:
      expect(1);
      return emit_convert(b, x[0], types[0], result);
    default:
      break;
  }
  throw std::invalid_argument("llvm backend: " + std::string(ir::op_name(op)) + " is not an elementwise op");
}

// The identity is ir::reduction_identity's; emit_combine below is ir::reduction_combine in LLVM IR.
llvm::Constant* reduction_identity(llvm::LLVMContext& ctx, Op op, ScalarType t) {
  if (ir::op_kind(op) != ir::OpKind::Reduce)
    throw std::invalid_argument("llvm backend: unsupported reduction " + std::string(ir::op_name(op)));
  return dispatch_dtype(t, [&]<typename T>() { return constant_of(ctx, Scalar(ir::reduction_identity<T>(op)), t); });
}

Value* emit_combine(llvm::IRBuilder<>& b, Op op, ScalarType t, Value* acc, Value* v) {
  if (is_float(t)) {
    if (op == Op::ReduceSum || op == Op::ReduceProd) {
      auto* folded = llvm::cast<llvm::Instruction>(op == Op::ReduceSum ? b.CreateFAdd(acc, v) : b.CreateFMul(acc, v));
      folded->setHasAllowReassoc(true);  // lets the vectorizer keep partial sums (products)
      return folded;
    }
    return b.CreateBinaryIntrinsic(op == Op::ReduceMax ? llvm::Intrinsic::maximum : llvm::Intrinsic::minimum, acc, v);
  }
  if (t == kBool) return op == Op::ReduceMin || op == Op::ReduceProd ? b.CreateAnd(acc, v) : b.CreateOr(acc, v);
  if (op == Op::ReduceSum) return b.CreateAdd(acc, v);
  if (op == Op::ReduceProd) return b.CreateMul(acc, v);
  bool max = op == Op::ReduceMax;
  llvm::Intrinsic::ID id = is_unsigned(t) ? (max ? llvm::Intrinsic::umax : llvm::Intrinsic::umin)
                                          : (max ? llvm::Intrinsic::smax : llvm::Intrinsic::smin);
  return b.CreateBinaryIntrinsic(id, acc, v);
}

Value* emit_arg_replaces(llvm::IRBuilder<>& b, Op op, ScalarType t, Value* v, Value* best) {
  bool max = op == Op::ArgMax;
  if (!is_float(t)) return compare(b, max ? Op::Gt : Op::Lt, t, v, best);
  // best is not NaN, and v is NaN or beyond it: an unordered-or-greater (less) compare.
  Value* beyond = b.CreateFCmp(max ? llvm::CmpInst::FCMP_UGT : llvm::CmpInst::FCMP_ULT, v, best);
  return b.CreateAnd(b.CreateFCmp(llvm::CmpInst::FCMP_ORD, best, best), beyond);
}

}  // namespace kiln::codegen::cpu
