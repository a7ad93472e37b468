// Internals of the CPU backend shared by its .cc files (LLVM types appear here, never in
// cpu_backend.h): the target description, the Kernel -> LLVM IR lowering, and the vectorizable
// math library with the small IRBuilder vocabulary its routines are written in.
#pragma once

#include <cmath>
#include <initializer_list>
#include <memory>
#include <string>
#include <vector>

#include "codegen/kernel.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/Intrinsics.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"

namespace kiln::codegen::cpu {

// What the code is generated for.
struct TargetInfo {
  std::string triple;
  std::string cpu;       // e.g. "znver4"
  std::string features;  // "+avx2,+avx512f,..."
  bool has_fma = false;
  bool has_avx512 = false;
};

// The kernel as a module holding `void symbol(void* const* args, int64_t begin, int64_t end)`
// (and the internal math helpers it inlines). Throws std::invalid_argument on malformed kernels.
void lower_kernel(const Kernel& k, const std::string& symbol, llvm::Module& m, const TargetInfo& t);

// ---------------------------------------------------------------------------------------------
// Scalar operations (ops.cc), shared by the lowering. Bools are i1 in registers and i8 in memory;
// float16 and bfloat16 are their i16 bits in both, and every op on them computes in float32 and
// rounds its result back (ir/half.h), as the reference does.

llvm::Type* register_type(llvm::LLVMContext& ctx, ScalarType t);
llvm::Type* memory_type(llvm::LLVMContext& ctx, ScalarType t);
llvm::Constant* constant_of(llvm::LLVMContext& ctx, const Scalar& s, ScalarType t);
// float16/bfloat16 bits (i16) <-> float32 (float16.cc): exact one way, round to nearest even the
// other, in integer IR (no compiler-rt call).
llvm::Value* emit_to_float32(llvm::IRBuilder<>& b, llvm::Value* bits, ScalarType from);
llvm::Value* emit_from_float32(llvm::IRBuilder<>& b, llvm::Value* f, ScalarType to);
// `cast` semantics (ir/semantics.h convert): to bool tests for non-zero. float16 and bfloat16
// (i16 bits in registers, like in memory) convert through float32.
llvm::Value* emit_convert(llvm::IRBuilder<>& b, llvm::Value* v, ScalarType from, ScalarType to);
// An Elementwise node: `op` over operands of the given types, producing `result`.
llvm::Value* emit_elementwise(llvm::IRBuilder<>& b, ir::Op op, ScalarType result, std::vector<llvm::Value*> operands,
                              const std::vector<ScalarType>& operand_types, const TargetInfo& t);
// Reductions: the identity, and acc combined with v (float sums reassociable, max/min NaN-propagating).
llvm::Constant* reduction_identity(llvm::LLVMContext& ctx, ir::Op op, ScalarType t);
llvm::Value* emit_combine(llvm::IRBuilder<>& b, ir::Op op, ScalarType t, llvm::Value* acc, llvm::Value* v);
// argmax/argmin: whether v replaces the extreme `best` (ir::arg_replaces), an i1.
llvm::Value* emit_arg_replaces(llvm::IRBuilder<>& b, ir::Op op, ScalarType t, llvm::Value* v, llvm::Value* best);

// ---------------------------------------------------------------------------------------------
// Math library (math*.cc). Each routine is a branch-free internal `alwaysinline` function of a
// scalar float or double ("kiln.exp.f32", ...), created on first use in the module; after
// inlining, the loop vectorizer widens it like any other arithmetic.

enum class MathFn { Exp, Log, Tanh, Erf, Sin, Cos, Pow };

// Emits a call of `fn` on x (and y, for Pow) at the builder's insertion point.
llvm::Value* emit_math(llvm::IRBuilder<>& b, MathFn fn, llvm::Value* x, llvm::Value* y, const TargetInfo& t);

// A tiny DSL over IRBuilder for one scalar floating type (float or double), in which the math
// routines are written: exact constants, Horner polynomials, compares and selects, bit access.
struct Fp {
  llvm::IRBuilder<>& b;
  llvm::Type* ty;  // float or double
  const TargetInfo& target;

  Fp(llvm::IRBuilder<>& builder, llvm::Type* type, const TargetInfo& t) : b(builder), ty(type), target(t) {}
  Fp with(llvm::Type* other) const { return Fp(b, other, target); }
  bool f32() const { return ty->isFloatTy(); }
  int mant_bits() const { return f32() ? 23 : 52; }
  int bias() const { return f32() ? 127 : 1023; }
  llvm::IntegerType* ity() const { return b.getIntNTy(f32() ? 32 : 64); }

  // `v` exactly: every constant the math routines use is representable in ty (hex literals).
  llvm::Constant* c(double v) const { return llvm::ConstantFP::get(ty, v); }
  llvm::Constant* ci(int64_t v) const { return llvm::ConstantInt::get(ity(), v, true); }
  llvm::Value* add(llvm::Value* x, llvm::Value* y) const { return b.CreateFAdd(x, y); }
  llvm::Value* sub(llvm::Value* x, llvm::Value* y) const { return b.CreateFSub(x, y); }
  llvm::Value* mul(llvm::Value* x, llvm::Value* y) const { return b.CreateFMul(x, y); }
  llvm::Value* div(llvm::Value* x, llvm::Value* y) const { return b.CreateFDiv(x, y); }
  llvm::Value* neg(llvm::Value* x) const { return b.CreateFNeg(x); }
  llvm::Value* intrinsic(llvm::Intrinsic::ID id, std::initializer_list<llvm::Value*> args) const {
    return b.CreateIntrinsic(id, {ty}, llvm::ArrayRef<llvm::Value*>(args.begin(), args.size()));
  }
  // x*y + z, fused where the target has FMA (llvm.fmuladd): for polynomial evaluation only.
  llvm::Value* mad(llvm::Value* x, llvm::Value* y, llvm::Value* z) const {
    return intrinsic(llvm::Intrinsic::fmuladd, {x, y, z});
  }
  // c[0] + x*(c[1] + x*(c[2] + ...)), Horner's rule.
  llvm::Value* poly(llvm::Value* x, std::initializer_list<double> coef) const {
    const double* p = coef.end();
    llvm::Value* acc = c(*--p);
    while (p != coef.begin()) acc = mad(acc, x, c(*--p));
    return acc;
  }
  llvm::Value* abs(llvm::Value* x) const { return intrinsic(llvm::Intrinsic::fabs, {x}); }
  llvm::Value* rint(llvm::Value* x) const { return intrinsic(llvm::Intrinsic::rint, {x}); }
  llvm::Value* floor(llvm::Value* x) const { return intrinsic(llvm::Intrinsic::floor, {x}); }
  llvm::Value* trunc(llvm::Value* x) const { return intrinsic(llvm::Intrinsic::trunc, {x}); }
  llvm::Value* copysign(llvm::Value* mag, llvm::Value* sgn) const {
    return intrinsic(llvm::Intrinsic::copysign, {mag, sgn});
  }
  llvm::Value* sel(llvm::Value* cond, llvm::Value* x, llvm::Value* y) const { return b.CreateSelect(cond, x, y); }
  llvm::Value* lt(llvm::Value* x, llvm::Value* y) const { return b.CreateFCmpOLT(x, y); }
  llvm::Value* gt(llvm::Value* x, llvm::Value* y) const { return b.CreateFCmpOGT(x, y); }
  llvm::Value* eq(llvm::Value* x, llvm::Value* y) const { return b.CreateFCmpOEQ(x, y); }
  llvm::Value* ne(llvm::Value* x, llvm::Value* y) const { return b.CreateFCmpUNE(x, y); }
  llvm::Value* isnan(llvm::Value* x) const { return b.CreateFCmpUNO(x, x); }
  llvm::Value* isfinite(llvm::Value* x) const { return b.CreateFCmpOLT(abs(x), c(INFINITY)); }
  llvm::Value* nan() const { return llvm::ConstantFP::getNaN(ty); }
  llvm::Value* inf() const { return c(INFINITY); }
  // Bits and exponent scaling.
  llvm::Value* bits(llvm::Value* x) const { return b.CreateBitCast(x, ity()); }
  llvm::Value* from_bits(llvm::Value* i) const { return b.CreateBitCast(i, ty); }
  // 2^k for an integer k in the normal exponent range.
  llvm::Value* pow2i(llvm::Value* k) const {
    return from_bits(b.CreateShl(b.CreateAdd(k, ci(bias())), ci(mant_bits())));
  }
  llvm::Value* to_int(llvm::Value* x) const { return b.CreateFPToSI(x, ity()); }
  llvm::Value* from_int(llvm::Value* i) const { return b.CreateSIToFP(i, ty); }

  // Error-free transformations (double-double arithmetic). two_prod: p + e == x*y exactly (an
  // FMA where the target has one, else Dekker's splitting); two_sum: s + e == x + y exactly.
  void two_prod(llvm::Value* x, llvm::Value* y, llvm::Value*& p, llvm::Value*& e) const;
  void two_sum(llvm::Value* x, llvm::Value* y, llvm::Value*& s, llvm::Value*& e) const;
  void fast_two_sum(llvm::Value* x, llvm::Value* y, llvm::Value*& s, llvm::Value*& e) const;  // |x| >= |y|
};

// The routines (math_exp_log.cc, math_trig.cc), emitted inline at f's insertion point; f32
// routines may evaluate in double internally.
llvm::Value* emit_exp(const Fp& f, llvm::Value* x, llvm::Value* xlo = nullptr);
llvm::Value* emit_log(const Fp& f, llvm::Value* x);
llvm::Value* emit_pow(const Fp& f, llvm::Value* x, llvm::Value* y);
llvm::Value* emit_tanh(const Fp& f, llvm::Value* x);
llvm::Value* emit_erf(const Fp& f, llvm::Value* x);
llvm::Value* emit_sincos(const Fp& f, llvm::Value* x, bool cosine);

}  // namespace kiln::codegen::cpu
