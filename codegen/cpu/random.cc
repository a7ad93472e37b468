// Kernel -> LLVM IR: random values. Philox4x32-10 inline (ir/philox.h is the definition: the same
// counter (element index, offset), key (seed) and rounds), so a random tensor fuses with the ops
// that read it and its stream is bit for bit the reference executor's. Seed and offset are loaded
// from an argument at launch: a new draw compiles nothing.
//
// Uniform values are exact conversions of the top bits (vectorizable). Normal values take
// Box-Muller in double with libm's log and cos, called as the reference executor calls them:
// Kiln's own approximations would change the last bits of the stream, which must not depend on
// the backend. (The only libm calls generated code makes.)
#include <array>

#include "codegen/cpu/lowering.h"

namespace kiln::codegen::cpu {

using llvm::Value;

namespace {

// One Philox4x32-10 block for counter (index, offset) and key seed: c[0..3] as i32.
std::array<Value*, 4> philox(llvm::IRBuilder<>& b, Value* seed, Value* index, Value* offset) {
  llvm::Type* i32 = b.getInt32Ty();
  llvm::Type* i64 = b.getInt64Ty();
  auto lo = [&](Value* x) { return b.CreateTrunc(x, i32); };
  auto hi = [&](Value* x) { return b.CreateTrunc(b.CreateLShr(x, 32), i32); };
  std::array<Value*, 4> c = {lo(index), hi(index), lo(offset), hi(offset)};
  Value *k0 = lo(seed), *k1 = hi(seed);
  for (int round = 0; round < 10; ++round) {
    Value* p0 = b.CreateMul(b.getInt64(0xD2511F53u), b.CreateZExt(c[0], i64));
    Value* p1 = b.CreateMul(b.getInt64(0xCD9E8D57u), b.CreateZExt(c[2], i64));
    c = {b.CreateXor(b.CreateXor(hi(p1), c[1]), k0), lo(p1), b.CreateXor(b.CreateXor(hi(p0), c[3]), k1), lo(p0)};
    k0 = b.CreateAdd(k0, b.getInt32(0x9E3779B9u));
    k1 = b.CreateAdd(k1, b.getInt32(0xBB67AE85u));
  }
  return c;
}

}  // namespace

llvm::Value* Lowering::random(const ValueNode& v) {
  llvm::Type* i64 = b_.getInt64Ty();
  llvm::Type* f64 = b_.getDoubleTy();
  Value* params = args_[v.arg];
  Value* seed = b_.CreateAlignedLoad(i64, params, llvm::Align(8), "seed");
  Value* offset = b_.CreateAlignedLoad(i64, b_.CreateConstInBoundsGEP1_64(i64, params, 1), llvm::Align(8), "offset");
  std::array<Value*, 4> r = philox(b_, seed, index(v.index), offset);
  // (r0 << 32 | r1) >> 11: 53 random bits.
  Value* bits53 = b_.CreateLShr(b_.CreateOr(b_.CreateShl(b_.CreateZExt(r[0], i64), 32), b_.CreateZExt(r[1], i64)), 11);
  if (v.distribution == ir::Distribution::Uniform) {
    if (compute_dtype(v.dtype) == kFloat32)  // float16 and bfloat16: the float32 draw, rounded
      return emit_convert(b_,
                          b_.CreateFMul(b_.CreateUIToFP(b_.CreateLShr(r[0], 8), b_.getFloatTy()),
                                        llvm::ConstantFP::get(b_.getFloatTy(), 0x1p-24)),
                          kFloat32, v.dtype);
    Value* u = b_.CreateFMul(b_.CreateUIToFP(bits53, f64), llvm::ConstantFP::get(f64, 0x1p-53));
    return emit_convert(b_, u, kFloat64, v.dtype);
  }
  auto* libm = llvm::FunctionType::get(f64, {f64}, false);
  llvm::FunctionCallee log = m_.getOrInsertFunction("log", libm), cos = m_.getOrInsertFunction("cos", libm);
  Value* u1 = b_.CreateFMul(b_.CreateFAdd(b_.CreateUIToFP(bits53, f64), llvm::ConstantFP::get(f64, 1.0)),
                            llvm::ConstantFP::get(f64, 0x1p-53));
  Value* u2 = b_.CreateFMul(b_.CreateUIToFP(r[2], f64), llvm::ConstantFP::get(f64, 0x1p-32));
  Value* radius = b_.CreateUnaryIntrinsic(llvm::Intrinsic::sqrt,
                                          b_.CreateFMul(llvm::ConstantFP::get(f64, -2.0), b_.CreateCall(log, {u1})));
  Value* angle = b_.CreateFMul(llvm::ConstantFP::get(f64, 2.0 * M_PI), u2);
  return emit_convert(b_, b_.CreateFMul(radius, b_.CreateCall(cos, {angle})), kFloat64, v.dtype);
}

}  // namespace kiln::codegen::cpu
