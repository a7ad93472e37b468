// float16 and bfloat16 <-> float32 in LLVM IR: the integer algorithms of ir/half.h, written out
// with selects so they vectorize and need no compiler-rt routine (__truncsfhf2, __extendhfsf2,
// ...), which the JIT would otherwise have to resolve. Both types are i16 in registers and memory.
#include "codegen/cpu/internal.h"

namespace kiln::codegen::cpu {

using llvm::Value;

namespace {

Value* half_to_float(llvm::IRBuilder<>& b, Value* h) {
  llvm::Type* i32 = b.getInt32Ty();
  auto k = [&](uint32_t v) { return llvm::ConstantInt::get(i32, v); };
  Value* x = b.CreateZExt(h, i32);
  Value* sign = b.CreateShl(b.CreateAnd(x, k(0x8000)), 16);
  Value* em = b.CreateAnd(x, k(0x7fff));
  Value* special = b.CreateOr(k(0x7f800000), b.CreateShl(b.CreateAnd(em, k(0x3ff)), 13));  // inf, NaN
  Value* normal = b.CreateAdd(b.CreateShl(em, 13), k(0x38000000));
  // Zero and subnormals: em units of 2^-24, exact in float.
  Value* tiny = b.CreateBitCast(
      b.CreateFMul(b.CreateUIToFP(em, b.getFloatTy()), llvm::ConstantFP::get(b.getFloatTy(), 0x1p-24)), i32);
  Value* bits = b.CreateSelect(b.CreateICmpUGE(em, k(0x7c00)), special,
                               b.CreateSelect(b.CreateICmpUGE(em, k(0x0400)), normal, tiny));
  return b.CreateBitCast(b.CreateOr(sign, bits), b.getFloatTy());
}

Value* float_to_half(llvm::IRBuilder<>& b, Value* f) {
  llvm::Type* i32 = b.getInt32Ty();
  auto k = [&](uint32_t v) { return llvm::ConstantInt::get(i32, v); };
  Value* x = b.CreateBitCast(f, i32);
  Value* sign = b.CreateAnd(b.CreateLShr(x, 16), k(0x8000));
  Value* a = b.CreateAnd(x, k(0x7fffffff));
  Value* nan = b.CreateOr(k(0x7e00), b.CreateAnd(b.CreateLShr(a, 13), k(0x3ff)));
  // Below 2^-14: adding 0.5 aligns the value with the subnormals' unit and rounds to nearest even.
  Value* shifted = b.CreateFAdd(b.CreateBitCast(a, b.getFloatTy()), llvm::ConstantFP::get(b.getFloatTy(), 0.5));
  Value* tiny = b.CreateSub(b.CreateBitCast(shifted, i32), k(0x3f000000));
  Value* odd = b.CreateAnd(b.CreateLShr(a, 13), k(1));
  Value* normal = b.CreateLShr(b.CreateAdd(b.CreateSub(a, k(0x38000000)), b.CreateAdd(k(0xfff), odd)), 13);
  Value* bits = b.CreateSelect(
      b.CreateICmpUGT(a, k(0x7f800000)), nan,
      b.CreateSelect(b.CreateICmpUGE(a, k(0x477ff000)), k(0x7c00),
                     b.CreateSelect(b.CreateICmpULT(a, k(0x38800000)), tiny, normal)));
  return b.CreateTrunc(b.CreateOr(sign, bits), b.getInt16Ty());
}

Value* bfloat16_to_float(llvm::IRBuilder<>& b, Value* h) {
  return b.CreateBitCast(b.CreateShl(b.CreateZExt(h, b.getInt32Ty()), 16), b.getFloatTy());
}

Value* float_to_bfloat16(llvm::IRBuilder<>& b, Value* f) {
  llvm::Type* i32 = b.getInt32Ty();
  auto k = [&](uint32_t v) { return llvm::ConstantInt::get(i32, v); };
  Value* x = b.CreateBitCast(f, i32);
  Value* nan = b.CreateOr(b.CreateLShr(x, 16), k(0x40));  // quiet
  Value* rounded = b.CreateLShr(b.CreateAdd(x, b.CreateAdd(k(0x7fff), b.CreateAnd(b.CreateLShr(x, 16), k(1)))), 16);
  Value* is_nan = b.CreateICmpUGT(b.CreateAnd(x, k(0x7fffffff)), k(0x7f800000));
  return b.CreateTrunc(b.CreateSelect(is_nan, nan, rounded), b.getInt16Ty());
}

}  // namespace

Value* emit_to_float32(llvm::IRBuilder<>& b, Value* bits, ScalarType from) {
  return from == kFloat16 ? half_to_float(b, bits) : bfloat16_to_float(b, bits);
}

Value* emit_from_float32(llvm::IRBuilder<>& b, Value* f, ScalarType to) {
  return to == kFloat16 ? float_to_half(b, f) : float_to_bfloat16(b, f);
}

}  // namespace kiln::codegen::cpu
