// The math library's entry point: each routine becomes an internal `alwaysinline` function of a
// scalar ("kiln.exp.f32"), created once per module and called where the kernel uses it. The
// inliner expands it into the loop body before the loop vectorizer runs, so no call survives.
#include <string>

#include "codegen/cpu/internal.h"

namespace kiln::codegen::cpu {

namespace {

const char* math_name(MathFn fn) {
  switch (fn) {
    case MathFn::Exp: return "exp";
    case MathFn::Log: return "log";
    case MathFn::Tanh: return "tanh";
    case MathFn::Erf: return "erf";
    case MathFn::Sin: return "sin";
    case MathFn::Cos: return "cos";
    case MathFn::Pow: return "pow";
  }
  return "?";
}

llvm::Function* math_function(llvm::Module& m, MathFn fn, llvm::Type* ty, const TargetInfo& t) {
  std::string name = std::string("kiln.") + math_name(fn) + (ty->isFloatTy() ? ".f32" : ".f64");
  if (llvm::Function* existing = m.getFunction(name)) return existing;
  bool binary = fn == MathFn::Pow;
  std::vector<llvm::Type*> params(binary ? 2 : 1, ty);
  auto* type = llvm::FunctionType::get(ty, params, false);
  auto* f = llvm::Function::Create(type, llvm::GlobalValue::InternalLinkage, name, m);
  f->addFnAttr(llvm::Attribute::AlwaysInline);
  f->addFnAttr(llvm::Attribute::NoUnwind);
  f->setDoesNotAccessMemory();
  f->addFnAttr("target-cpu", t.cpu);
  f->addFnAttr("target-features", t.features);
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(m.getContext(), "entry", f));
  Fp fp(b, ty, t);
  llvm::Value* x = f->getArg(0);
  llvm::Value* r = nullptr;
  switch (fn) {
    case MathFn::Exp: r = emit_exp(fp, x); break;
    case MathFn::Log: r = emit_log(fp, x); break;
    case MathFn::Tanh: r = emit_tanh(fp, x); break;
    case MathFn::Erf: r = emit_erf(fp, x); break;
    case MathFn::Sin: r = emit_sincos(fp, x, false); break;
    case MathFn::Cos: r = emit_sincos(fp, x, true); break;
    case MathFn::Pow: r = emit_pow(fp, x, f->getArg(1)); break;
  }
  b.CreateRet(r);
  return f;
}

}  // namespace

llvm::Value* emit_math(llvm::IRBuilder<>& b, MathFn fn, llvm::Value* x, llvm::Value* y, const TargetInfo& t) {
  llvm::Module& m = *b.GetInsertBlock()->getModule();
  llvm::Function* f = math_function(m, fn, x->getType(), t);
  if (fn == MathFn::Pow) return b.CreateCall(f, {x, y});
  return b.CreateCall(f, {x});
}

}  // namespace kiln::codegen::cpu
