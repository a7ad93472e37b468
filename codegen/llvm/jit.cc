// CpuBackend: one ORC LLJIT for the process, targeting the host CPU with all its features
// (JITTargetMachineBuilder::detectHost), and the O3 new-pass-manager pipeline with loop and SLP
// vectorization. Each kernel is lowered into its own module and LLVMContext, optimized, optionally
// printed (IR, and assembly from a clone), then handed to the JIT and looked up by its symbol.
#include <cctype>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "codegen/llvm/cpu_backend.h"
#include "codegen/llvm/internal.h"
#include "llvm/Analysis/TargetLibraryInfo.h"
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

namespace kiln::codegen {

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

struct CpuBackend::Impl {
  struct Entry {
    Kernel kernel;
    std::string symbol;
    KernelFn fn = nullptr;
    std::string llvm_ir, assembly;
  };

  std::mutex mu;
  cpu::TargetInfo target;
  std::unique_ptr<llvm::TargetMachine> tm;  // for the optimizer's cost models and assembly text
  std::unique_ptr<llvm::orc::LLJIT> jit;
  std::unordered_map<std::string, std::vector<Entry>> by_name;
  std::unordered_set<std::string> symbols;

  Impl() {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
    llvm::InitializeNativeTargetAsmParser();
    auto jtmb = check(llvm::orc::JITTargetMachineBuilder::detectHost(), "detecting the host");
    jtmb.setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
    target.triple = jtmb.getTargetTriple().str();
    target.cpu = jtmb.getCPU();
    target.features = jtmb.getFeatures().getString();
    target.has_fma = has_feature(target.features, "fma");
    target.has_avx512 = has_feature(target.features, "avx512f");
    tm = check(jtmb.createTargetMachine(), "creating the target machine");
    jit = check(llvm::orc::LLJITBuilder().setJITTargetMachineBuilder(jtmb).create(), "creating the JIT");
    // Kernels call no library function themselves, but LLVM may emit memset/memcpy.
    char prefix = jit->getDataLayout().getGlobalPrefix();
    jit->getMainJITDylib().addGenerator(
        check(llvm::orc::DynamicLibrarySearchGenerator::GetForCurrentProcess(prefix), "resolving process symbols"));
  }

  std::unique_ptr<llvm::Module> lower(const Kernel& k, const std::string& symbol, llvm::LLVMContext& ctx) {
    auto m = std::make_unique<llvm::Module>(symbol, ctx);
    m->setTargetTriple(target.triple);
    m->setDataLayout(jit->getDataLayout());
    cpu::lower_kernel(k, symbol, *m, target);
    std::string err;
    llvm::raw_string_ostream os(err);
    if (llvm::verifyModule(*m, &os)) throw std::runtime_error("llvm backend: invalid IR for " + symbol + ": " + err);
    optimize(*m);
    return m;
  }

  void optimize(llvm::Module& m) {
    llvm::LoopAnalysisManager lam;
    llvm::FunctionAnalysisManager fam;
    llvm::CGSCCAnalysisManager cgam;
    llvm::ModuleAnalysisManager mam;
    llvm::PipelineTuningOptions pto;
    pto.LoopVectorization = true;
    pto.SLPVectorization = true;
    pto.LoopInterleaving = true;
    pto.LoopUnrolling = true;
    llvm::PassBuilder pb(tm.get(), pto);
    llvm::TargetLibraryInfoImpl tlii(llvm::Triple(m.getTargetTriple()));
    fam.registerPass([&] { return llvm::TargetLibraryAnalysis(tlii); });
    pb.registerModuleAnalyses(mam);
    pb.registerCGSCCAnalyses(cgam);
    pb.registerFunctionAnalyses(fam);
    pb.registerLoopAnalyses(lam);
    pb.crossRegisterProxies(lam, fam, cgam, mam);
    pb.buildPerModuleDefaultPipeline(llvm::OptimizationLevel::O3).run(m, mam);
  }

  void text(llvm::Module& m, Entry& e) {
    llvm::raw_string_ostream ir(e.llvm_ir);
    m.print(ir, nullptr);
    std::unique_ptr<llvm::Module> clone = llvm::CloneModule(m);  // codegen passes modify the IR
    llvm::SmallString<0> buf;
    llvm::raw_svector_ostream os(buf);
    llvm::legacy::PassManager pm;
    if (tm->addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::AssemblyFile))
      throw std::runtime_error("llvm backend: the target cannot emit assembly");
    pm.run(*clone);
    e.assembly = std::string(buf.str());
  }

  CompiledKernel compile(const Kernel& k, bool want_text) {
    std::lock_guard<std::mutex> lock(mu);
    auto t0 = std::chrono::steady_clock::now();
    std::vector<Entry>& same_name = by_name[k.name];
    for (Entry& e : same_name) {
      if (!(e.kernel == k)) continue;
      if (want_text && e.assembly.empty()) {
        llvm::LLVMContext ctx;
        text(*lower(k, e.symbol, ctx), e);
      }
      CompiledKernel out{e.fn, want_text ? e.llvm_ir : "", want_text ? e.assembly : "", 0, true};
      out.compile_ms = ms_since(t0);
      return out;
    }
    Entry e{k, sanitize(k.name), nullptr, {}, {}};
    for (int n = 1; symbols.count(e.symbol); ++n) e.symbol = sanitize(k.name) + ".v" + std::to_string(n);
    auto ctx = std::make_unique<llvm::LLVMContext>();
    std::unique_ptr<llvm::Module> m = lower(k, e.symbol, *ctx);
    if (want_text) text(*m, e);
    if (llvm::Error err = jit->addIRModule(llvm::orc::ThreadSafeModule(std::move(m), std::move(ctx))))
      fail("adding " + e.symbol, std::move(err));
    symbols.insert(e.symbol);
    e.fn = check(jit->lookup(e.symbol), "looking up " + e.symbol).toPtr<KernelFn>();
    CompiledKernel out{e.fn, e.llvm_ir, e.assembly, 0, false};
    same_name.push_back(std::move(e));
    out.compile_ms = ms_since(t0);
    return out;
  }
};

CpuBackend::CpuBackend() : impl_(std::make_unique<Impl>()) {}
CpuBackend::~CpuBackend() = default;

CpuBackend& CpuBackend::instance() {
  static CpuBackend* backend = new CpuBackend();  // never destroyed: kernels may run at exit
  return *backend;
}

CompiledKernel CpuBackend::compile(const Kernel& k, bool want_text) { return impl_->compile(k, want_text); }

std::string CpuBackend::target_description() const {
  return impl_->target.triple + ", cpu " + impl_->target.cpu + ", " + impl_->target.features;
}

}  // namespace kiln::codegen
