// Compiler: one ORC LLJIT for the process, targeting the host CPU with all its features
// (JITTargetMachineBuilder::detectHost), and the O3 new-pass-manager pipeline with loop and SLP
// vectorization. Each kernel is lowered into its own module, LLVMContext and TargetMachine (so
// threads compile concurrently), optimized, optionally printed (IR, and assembly from a clone),
// then handed to the JIT under its own resource tracker and looked up by its symbol; the code is
// removed from the JIT when the last copy of its CompiledKernel goes.
#include <cctype>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <unordered_set>

#include "codegen/cpu/compiler.h"
#include "codegen/cpu/internal.h"
#include "llvm/Analysis/TargetLibraryInfo.h"
#include "llvm/Config/llvm-config.h"
#include "llvm/ExecutionEngine/Orc/CompileUtils.h"
#include "llvm/ExecutionEngine/Orc/ExecutionUtils.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/ExecutionEngine/Orc/LLJIT.h"
#include "llvm/ExecutionEngine/Orc/ThreadSafeModule.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Verifier.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/MemoryBuffer.h"
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

// Part of every ObjectStore key: change it whenever optimize() or the code generation options
// change what an unchanged module compiles to.
constexpr const char* kPipelineVersion = "O3 loop+slp vectorize, interleave, unroll; v1";

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

  // The kernel as a verified, not yet optimized module.
  std::unique_ptr<llvm::Module> lower(const Kernel& k, const std::string& symbol, llvm::LLVMContext& ctx) {
    auto m = std::make_unique<llvm::Module>(symbol, ctx);
    m->setTargetTriple(target.triple);
    m->setDataLayout(jit->getDataLayout());
    lower_kernel(k, symbol, *m, target);
    std::string err;
    llvm::raw_string_ostream os(err);
    if (llvm::verifyModule(*m, &os)) throw std::runtime_error("llvm backend: invalid IR for " + symbol + ": " + err);
    return m;
  }

  // What determines the object `m` compiles to (see ObjectStore).
  std::string object_key(const llvm::Module& m) const {
    std::string key = std::string("kiln cpu object\n") + kPipelineVersion + "\nLLVM " LLVM_VERSION_STRING "\n" +
                      target.triple + " " + target.cpu + " " + target.features + "\n";
    llvm::raw_string_ostream os(key);
    m.print(os, nullptr);
    return key;
  }

  static std::string object_file(llvm::Module& m, llvm::TargetMachine& tm) {
    llvm::SmallVector<char, 0> buf;
    llvm::raw_svector_ostream os(buf);
    llvm::legacy::PassManager pm;
    if (tm.addPassesToEmitFile(pm, os, nullptr, llvm::CodeGenFileType::ObjectFile))
      throw std::runtime_error("llvm backend: the target cannot emit objects");
    pm.run(m);
    return std::string(buf.data(), buf.size());
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

  // Adds code under `symbol` to the JIT (an object file, else the optimized module) and fills in
  // `out`'s function and owner: from here the code lives as long as out.code.
  void add_to_jit(CompiledKernel& out, const std::string& symbol, std::unique_ptr<llvm::Module> m,
                  std::unique_ptr<llvm::LLVMContext> ctx, const std::string* object) {
    llvm::orc::ResourceTrackerSP tracker = jit->getMainJITDylib().createResourceTracker();
    llvm::Error err = object ? jit->addObjectFile(tracker, llvm::MemoryBuffer::getMemBufferCopy(*object, symbol))
                             : jit->addIRModule(tracker, llvm::orc::ThreadSafeModule(std::move(m), std::move(ctx)));
    if (err) {
      llvm::consumeError(tracker->remove());
      fail("adding " + symbol, std::move(err));
    }
    llvm::Expected<llvm::orc::ExecutorAddr> fn = jit->lookup(symbol);
    if (!fn) {
      llvm::consumeError(tracker->remove());
      fail("looking up " + symbol, fn.takeError());
    }
    auto release = [this, symbol, tracker](void*) {
      llvm::consumeError(tracker->remove());
      release_symbol(symbol);
    };
    out.code = std::shared_ptr<void>(static_cast<void*>(nullptr), release);
    out.fn = fn->toPtr<KernelFn>();
  }

  // The stored object for `key`, loaded; nullopt if the store has none or it does not load.
  std::optional<CompiledKernel> load_stored(ObjectStore& store, const std::string& key, const std::string& symbol) {
    std::optional<std::string> object = store.load(key);
    if (!object) return std::nullopt;
    CompiledKernel out;
    try {
      add_to_jit(out, symbol, nullptr, nullptr, &*object);
    } catch (const std::exception& e) {
      std::fprintf(stderr, "kiln: the cached object of %s does not load (%s); compiling again\n", symbol.c_str(),
                   e.what());
      return std::nullopt;
    }
    out.from_store = true;
    return out;
  }

  CompiledKernel compile(const Kernel& k, bool want_text, ObjectStore* store) {
    auto t0 = std::chrono::steady_clock::now();
    std::string symbol = claim_symbol(k.name);
    try {
      auto ctx = std::make_unique<llvm::LLVMContext>();
      std::unique_ptr<llvm::Module> m = lower(k, symbol, *ctx);
      std::string key;
      if (store && symbol == sanitize(k.name)) key = object_key(*m);  // a renamed symbol is not stored
      if (!key.empty() && !want_text)
        if (std::optional<CompiledKernel> stored = load_stored(*store, key, symbol)) {
          stored->compile_ms = ms_since(t0);
          return std::move(*stored);
        }
      std::unique_ptr<llvm::TargetMachine> tm = target_machine();
      optimize(*m, *tm);
      CompiledKernel out;
      if (want_text) out.text = text(*m, *tm);
      if (key.empty()) {
        add_to_jit(out, symbol, std::move(m), std::move(ctx), nullptr);
      } else {
        std::string object = object_file(*m, *tm);
        store->store(key, object);
        add_to_jit(out, symbol, nullptr, nullptr, &object);
      }
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

CompiledKernel Compiler::compile(const Kernel& k, bool want_text, ObjectStore* store) {
  return impl_->compile(k, want_text, store);
}


std::string Compiler::target_description() const {
  return impl_->target.triple + ", cpu " + impl_->target.cpu + ", " + impl_->target.features;
}

}  // namespace kiln::codegen::cpu
