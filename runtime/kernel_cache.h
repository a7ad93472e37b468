// Compiled kernels, cached by device and kernel structure: a training loop that records the same
// graph every step compiles each kernel once.
//
// The cache is bounded (KILN_KERNEL_CACHE kernels, read once, default 4096; set_capacity changes
// it) and evicts the least recently used kernel. Compiling happens outside the cache's lock, so
// threads compile different kernels at once; a thread asking for a kernel another thread is
// compiling waits for that compile instead of repeating it. A program stays valid while anyone
// holds it (a cached schedule does), evicted or not.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

#include "codegen/kernel.h"
#include "runtime/backend.h"

namespace kiln::runtime {

// The program for `k` on `backend`, compiling it on first sight (with its text forms when
// `with_artifacts`: dumps ask for them for the whole process). Throws what the compiler throws
// (the failure is not cached). A `purpose` ("log_softmax at model.cc:12") asks for a line on
// stderr when the kernel is compiled (KILN_LOG=compile).
std::shared_ptr<const Program> compile(Backend& backend, const codegen::Kernel& k, bool with_artifacts = false,
                                       const std::string& purpose = "");

// The kernels the cache holds, least recently used first (for tests and tools: the CUDA
// renderer's tests compile every kernel a CPU workload compiled).
std::vector<codegen::Kernel> cached_kernels();

// The most kernels the cache holds; a smaller capacity evicts at once.
void set_kernel_cache_capacity(size_t kernels);
size_t kernel_cache_size();

}  // namespace kiln::runtime
