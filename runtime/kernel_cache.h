// Compiled kernels, cached by the kernel's structure: a training loop that records the same
// graph every step compiles each kernel once.
//
// The cache is bounded (KILN_KERNEL_CACHE kernels, read once, default 4096; set_capacity changes
// it) and evicts the least recently used kernel. Compiling happens outside the cache's lock, so
// threads compile different kernels at once; a thread asking for a kernel another thread is
// compiling waits for that compile instead of repeating it. A compiled kernel stays valid while
// anyone holds it (a cached schedule does), evicted or not.
#pragma once

#include <cstddef>
#include <memory>
#include <string>

#include "codegen/kernel.h"

namespace kiln::runtime {

struct CompiledKernel {
  codegen::KernelFn fn = nullptr;
  std::shared_ptr<void> code;  // keeps fn's machine code alive
};

// The compiled code for `k`, compiling it on first sight. Throws what the compiler throws (the
// failure is not cached).
std::shared_ptr<const CompiledKernel> compile(const codegen::Kernel& k);

// The LLVM IR and assembly of `k` (for dumps), made once per cached kernel.
struct KernelText {
  std::string llvm_ir, assembly;
};
KernelText kernel_text(const codegen::Kernel& k);

// The most kernels the cache holds; a smaller capacity evicts at once.
void set_kernel_cache_capacity(size_t kernels);
size_t kernel_cache_size();

// Runs `fn` over every outer point of `k` on the thread pool, at runtime extent `extent` (unread
// when `k` has none).
void launch(const codegen::Kernel& k, codegen::KernelFn fn, void* const* args, int64_t extent);

}  // namespace kiln::runtime
