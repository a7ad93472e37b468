// The CPU code generator: lowers a codegen::Kernel to LLVM IR, optimizes it at O3 for the host CPU (its
// vector extensions included) and JIT-compiles it with ORC LLJIT into a KernelFn. This header
// deliberately includes nothing from LLVM.
//
// Semantics match the reference executor (ir/semantics.h): integer add/sub/mul/neg wrap, float
// maximum/minimum propagate NaN, integer pow squares, cast to bool tests for non-zero. The
// transcendentals (exp log tanh erf sin cos pow) are Kiln's own branch-free approximations
// (codegen/cpu/math*.cc, error bounds there) so that they vectorize: the generated code calls no
// libm function, except log and cos for normal random numbers (codegen/cpu/random.cc), whose
// stream must be the reference executor's bit for bit. Floating-point sums are reassociated (vectorized partial sums in the reduction's
// dtype); everything else is evaluated exactly as written, without contraction into FMAs.
//
// Arguments are assumed not to overlap, except that an output may be the very buffer of an input
// when every point reads that input only at the element it writes (in-place updates).
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "codegen/kernel.h"

namespace kiln::codegen::cpu {

struct KernelText {
  std::string llvm_ir;   // the optimized LLVM IR
  std::string assembly;  // the host assembly
};

struct CompiledKernel {
  KernelFn fn = nullptr;       // valid while `code` (or a copy of it) is alive
  std::shared_ptr<void> code;  // owns the machine code: the last copy removes it from the JIT
  KernelText text;             // only when compiled with want_text
  double compile_ms = 0;       // wall time of this compile()
  bool from_store = false;     // the object came from the ObjectStore: nothing was optimized or compiled
};

// Where compiled objects persist between processes (runtime/compile_cache.h keeps them on disk).
// The compiler names each object by a key that determines it: the kernel's LLVM IR before
// optimization, the target triple, CPU and features, the LLVM version and the version of Kiln's
// optimization pipeline (kPipelineVersion in jit.cc).
class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  virtual std::optional<std::string> load(const std::string& key) = 0;
  virtual void store(const std::string& key, const std::string& object) = 0;
};

class Compiler {
 public:
  // The process-wide backend (one LLJIT). Initializes LLVM's native target on first use.
  static Compiler& instance();

  // Compiles `k`, every call anew (caching in memory is runtime/kernel_cache's job), or, given a
  // store that holds its object, lowers it and loads that object (a text request compiles). A
  // fresh object goes to the store; an object that does not load is compiled again. Thread-safe:
  // threads compile concurrently. A kernel whose name is in use by live code gets a renamed
  // symbol (and bypasses the store). Throws std::runtime_error if LLVM fails,
  // std::invalid_argument for a malformed kernel.
  CompiledKernel compile(const Kernel& k, bool want_text = false, ObjectStore* store = nullptr);


  // "x86_64-unknown-linux-gnu, cpu znver4, +avx512f,+avx2,...": what code is generated for.
  std::string target_description() const;

  Compiler(const Compiler&) = delete;
  Compiler& operator=(const Compiler&) = delete;

 private:
  Compiler();
  ~Compiler();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace kiln::codegen::cpu
