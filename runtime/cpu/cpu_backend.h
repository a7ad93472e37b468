// The CPU backend: host memory from Kiln's caching allocator, kernels compiled by the LLVM code
// generator (codegen/cpu) into host functions and run over the thread pool, matmuls through
// OpenBLAS. The host calling convention (codegen::KernelFn) stays in here.
#pragma once

#include "runtime/backend.h"

namespace kiln::runtime::cpu {

class CpuBackend final : public Backend {
 public:
  Device device() const override { return Device(kCPU); }
  std::shared_ptr<ir::Storage> allocate(size_t bytes) override;
  std::shared_ptr<const Program> compile(const codegen::Kernel& k, bool with_artifacts) override;
  void launch(const Program& program, const codegen::Kernel& k, void* const* args, int64_t extent) override;
  void run_extern(const ir::Node& n, const std::vector<const void*>& inputs, void* out,
                  const std::vector<bool>& transposed) override;
  void copy(void* dst, const void* src, size_t bytes) override;
  void copy_to_host(void* host_dst, const void* src, size_t bytes) override { copy(host_dst, src, bytes); }
  void copy_from_host(void* dst, const void* host_src, size_t bytes) override { copy(dst, host_src, bytes); }
};

}  // namespace kiln::runtime::cpu
