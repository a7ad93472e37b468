// Compiler: one ORC LLJIT for the process, targeting the host CPU with all its features
// (JITTargetMachineBuilder::detectHost), and the O3 new-pass-manager pipeline with loop and SLP
// vectorization. Each kernel is lowered into its own module, LLVMContext and TargetMachine (so
// threads compile concurrently), optimized, optionally printed (IR, and assembly from a clone),
// then handed to the JIT under its own resource tracker and looked up by its symbol; the code is
// removed from the JIT when the last copy of its CompiledKernel goes.
#include <cctype>
#include <chrono>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_set>

#include "codegen/cpu/compiler.h"
#include "codegen/cpu/internal.h"
#include "llvm/Analysis/TargetLibraryInfo.h"
#include "llvm/ExecutionEngine/Orc/CompileUtils.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/Transforms/Utils/Cloning.h"

namespace kiln::codegen::cpu {

namespace {

[[noreturn]] void fail(const std::string& what, llvm::Error err) {
  throw std::runtime_error("llvm backend: " + what + ": " + llvm::toString(std::move(err)));
}

template <typename T>
T check(llvm::Expected<T> v, const std::string& what) {
  if (!v) fail(what, v.takeError());
  return std::move(*v);
}

bool has_feature(const std::string& features, const std::string& f) {
  size_t at = 0;
  const std::string item = "+" + f;
  while ((at = features.find(item, at)) != std::string::npos) {
    size_t end = at + item.size();
    if (end == features.size() || features[end] == ',') return true;
    at = end;
  }
  return false;
}

std::string sanitize(const std::string& name) {
  std::string s = name.empty() ? "kiln_kernel" : name;
  for (char& c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.')) c = '_';
  return s;
}

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace

struct Compiler::Impl {
  TargetInfo target;
  std::optional<llvm::orc::JITTargetMachineBuilder> jtmb;
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::mutex symbols_mu;
  std::unordered_set<std::string> symbols;  // symbols of code in the JIT now, guarded by symbols_mu

  Impl() {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    jtmb = check(llvm::orc::JITTargetMachineBuilder::detectHost(), "detecting the host");
    jtmb->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
    target.triple = jtmb->getTargetTriple().str();
    target.cpu = jtmb->getCPU();
    target.features = jtmb->getFeatures().getString();
    target.has_fma = has_feature(target.features, "fma");
    target.has_avx512 = has_feature(target.features, "avx512f");
    // ConcurrentIRCompiler: a TargetMachine per module, so threads may compile at once.
    jit = check(llvm::orc::LLJITBuilder()
                    .setJITTargetMachineBuilder(*jtmb)
                    .setCompileFunctionCreator([](llvm::orc::JITTargetMachineBuilder b)
                                                   -> llvm::Expected<std::unique_ptr<llvm::orc::IRCompileLayer::IRCompiler>> {
                      return std::make_unique<llvm::orc::ConcurrentIRCompiler>(std::move(b));
                    })
                    .create(),
                "creating the JIT");
    // Kernels call no library function themselves, but LLVM may emit memset/memcpy.
    char prefix = jit->getDataLayout().getGlobalPrefix();
    jit->getMainJITDylib().addGenerator(
        check(llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(prefix), "resolving process symbols"));
  }

  // TargetMachine is not thread-safe: each compile makes its own (for the optimizer's cost
  // models and for assembly text).
  std::unique_ptr<llvm::TargetMachine> target_machine() {
    return check(jtmb->createTargetMachine(), "creating the target machine");
  }

  std::unique_ptr<llvm::Module> lower(const Kernel& k, const std::string& symbol, llvm::LLVMContext& ctx,
                                      llvm::TargetMachine& tm) {
    auto m = std::make_unique<llvm::Module>(symbol, ctx);
    m->setTargetTriple(target.triple);
    m->setDataLayout(jit->getDataLayout());
    lower_kernel(k, symbol, *m, target);
    std::string err;
    llvm::raw_string_ostream os(err);
    if (llvm::verifyModule(*m, &os)) throw std::runtime_error("llvm backend: invalid IR for " + symbol + ": " + err);
    optimize(*m, tm);
    return m;
  }

  static void optimize(llvm::Module& m, llvm::TargetMachine& tm) {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PipelineTuningOptions pto;
    pto.LoopVectorization = true;
    pto.SLPVectorization = true;
    pto.LoopInterleaving = true;
    pto.LoopUnrolling = true;
    llvm::PassBuilder pb(&tm, pto);
    llvm::TargetLibraryInfoImpl tlii(llvm::Triple(m.getTargetTriple()));
    fam.registerPass([&] { return llvm::TargetLibraryAnalysis(tlii); });
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(m, mam);
  }

  static KernelText text(llvm::Module& m, llvm::TargetMachine& tm) {
    KernelText t;
    llvm::raw_string_ostream ir(t.llvm_ir);
    m.print(ir, nullptr);
    std::unique_ptr<llvm::Module> clone = llvm::CloneModule(m);  // codegen passes modify the IR
    llvm::SmallString<0> buf;
    llvm::raw_svector_ostream os(buf);
    llvm::legacy::PassManager pm;
    if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::AssemblyFile))
      throw std::runtime_error("llvm backend: the target cannot emit assembly");
    pm.run(*clone);
    t.assembly = std::string(buf.str());
    return t;
  }

  // The kernel's name, or with a suffix while code under that name is still in the JIT.
  std::string claim_symbol(const std::string& name) {
    std::lock_guard<std::mutex> lock(symbols_mu);
    std::string symbol = sanitize(name);
    for (int n = 1; symbols.count(symbol); ++n) symbol = sanitize(name) + ".v" + std::to_string(n);
    symbols.insert(symbol);
    return symbol;
  }

  void release_symbol(const std::string& symbol) {
    std::lock_guard<std::mutex> lock(symbols_mu);
    symbols.erase(symbol);
  }

  CompiledKernel compile(const Kernel& k, bool want_text) {
    auto t0 = std::chrono::steady_clock::now();
    std::string symbol = claim_symbol(k.name);
    try {
      auto ctx = std::make_unique<llvm::LLVMContext>();
      std::unique_ptr<llvm::TargetMachine> tm = target_machine();
      std::unique_ptr<llvm::Module> m = lower(k, symbol, *ctx, *tm);
      CompiledKernel out;
      if (want_text) out.text = text(*m, *tm);
      llvm::orc::ResourceTrackerSP tracker = jit->getMainJITDylib().createResourceTracker();
      if (llvm::Error err = jit->addIRModule(tracker, llvm::orc::ThreadSafeModule(std::move(m), std::move(ctx))))
        fail("adding " + symbol, std::move(err));
      // From here the code lives as long as the handle: its last owner removes it from the JIT.
      auto release = [this, symbol, tracker](void*) {
        llvm::consumeError(tracker->remove());
        release_symbol(symbol);
      };
      out.code = std::shared_ptr<void>(static_cast<void*>(nullptr), release);
      out.fn = check(jit->lookup(symbol), "looking up " + symbol).toPtr<KernelFn>();
      out.compile_ms = ms_since(t0);
      return out;
    } catch (...) {
      release_symbol(symbol);  // harmless if the handle did it already
      throw;
    }
  }

};

Compiler::Compiler() : impl_(std::make_unique<Impl>()) {}
Compiler::~Compiler() = default;

Compiler& Compiler::instance() {
  static Compiler* backend = new Compiler();  // never destroyed: kernels may run at exit
  return *backend;
}

CompiledKernel Compiler::compile(const Kernel& k, bool want_text) { return impl_->compile(k, want_text); }


std::string Compiler::target_description() const {
  return impl_->target.triple + ", cpu " + impl_->target.cpu + ", " + impl_->target.features;
}

}  // namespace kiln::codegen::cpu
