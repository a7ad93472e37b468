// Compiled kernels, cached by the kernel's structure: a training loop that records the same
// graph every step compiles each kernel once.
#pragma once

#include <string>

#include "codegen/kernel.h"

namespace kiln::runtime {

struct CompiledKernel {
  codegen::KernelFn fn;
  std::string llvm_ir;   // filled when compiled with text (dumps)
  std::string assembly;  // likewise
};

// The compiled code for `k`, compiling it on first sight. `with_text` asks for the LLVM IR and
// assembly too (recompiling a cached kernel that has none yet).
const CompiledKernel& compile(const codegen::Kernel& k, bool with_text = false);

// Runs `fn` over every outer point of `k` on the thread pool, at runtime extent `extent` (unread
// when `k` has none).
void launch(const codegen::Kernel& k, codegen::KernelFn fn, void* const* args, int64_t extent);

}  // namespace kiln::runtime
