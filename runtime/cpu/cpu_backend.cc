#include "runtime/cpu/cpu_backend.h"

#include <algorithm>
#include <cstring>

#include "codegen/cpu/compiler.h"
#include "codegen/runtime_extent.h"
#include "runtime/compile_cache.h"
#include "runtime/cpu/blas_ops.h"
#include "runtime/thread_pool.h"

namespace kiln::runtime::cpu {

namespace {

// A kernel as a host function; `code` keeps its machine code in the JIT.
struct HostProgram final : Program {
  codegen::KernelFn fn;
  std::shared_ptr<void> code;
  HostProgram(codegen::KernelFn f, std::shared_ptr<void> c) : fn(f), code(std::move(c)) {}
};

// Compiled objects on disk (runtime/compile_cache.h), for the compiler's ObjectStore.
class DiskObjects final : public codegen::cpu::ObjectStore {
 public:
  bool enabled() const { return cache_.enabled(); }
  std::optional<std::string> load(const std::string& key) override { return cache_.load(key); }
  void store(const std::string& key, const std::string& object) override { cache_.store(key, object); }

 private:
  CompileCache cache_{"cpu"};
};

DiskObjects& disk_objects() {
  static DiskObjects* objects = new DiskObjects();  // the environment is read once
  return *objects;
}

const bool registered = register_backend(kCPU, [](int) -> Backend& {
  static CpuBackend* backend = new CpuBackend();  // never destroyed: kernels may run at exit
  return *backend;
});

}  // namespace

std::shared_ptr<ir::Storage> CpuBackend::allocate(size_t bytes) { return ir::Storage::allocate(bytes); }

std::shared_ptr<const Program> CpuBackend::compile(const codegen::Kernel& k, bool with_artifacts) {
  DiskObjects& disk = disk_objects();
  codegen::cpu::CompiledKernel c =
      codegen::cpu::Compiler::instance().compile(k, with_artifacts, disk.enabled() ? &disk : nullptr);
  auto program = std::make_shared<HostProgram>(c.fn, std::move(c.code));
  program->from_compile_cache = c.from_store;
  if (with_artifacts) program->artifacts = {{".ll", std::move(c.text.llvm_ir)}, {".s", std::move(c.text.assembly)}};
  return program;
}

void CpuBackend::launch(const Program& program, const codegen::Kernel& k, void* const* args, int64_t extent) {
  codegen::KernelFn fn = static_cast<const HostProgram&>(program).fn;
  int64_t points = numel(codegen::outer_extents(k, extent));
  int64_t work_per_point =
      std::max<int64_t>(1, numel(codegen::inner_extents(k, extent))) * (k.reductions.empty() ? 1 : 2);
  // Chunks of at least ~64K element operations amortize a thread hand-off (a few microseconds).
  int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / work_per_point);
  thread_pool().parallel_for(points, grain, [&](int64_t begin, int64_t end) { fn(args, &extent, begin, end); });
}

void CpuBackend::copy(void* dst, const void* src, size_t bytes) {
  if (bytes > 0) std::memcpy(dst, src, bytes);
}

void CpuBackend::run_extern(const ir::Node& n, const std::vector<const void*>& inputs, void* out,
                            const std::vector<bool>& transposed) {
  cpu::run_extern(n, inputs, out, transposed);
}

}  // namespace kiln::runtime::cpu
