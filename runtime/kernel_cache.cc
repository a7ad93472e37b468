#include "runtime/kernel_cache.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <vector>

#include "codegen/llvm/cpu_backend.h"
#include "codegen/runtime_extent.h"
#include "runtime/stats.h"
#include "runtime/thread_pool.h"

namespace kiln::runtime {

namespace {

struct Entry {
  codegen::Kernel kernel;  // kept to tell hash collisions apart
  CompiledKernel compiled;
};

bool log_compiles() {
  static const bool enabled = [] {
    const char* v = std::getenv("KILN_LOG");
    return v && std::strstr(v, "compile") != nullptr;
  }();
  return enabled;
}

}  // namespace

const CompiledKernel& compile(const codegen::Kernel& k, bool with_text) {
  static std::mutex mu;
  static std::unordered_map<uint64_t, std::vector<std::unique_ptr<Entry>>> cache;
  std::lock_guard<std::mutex> lock(mu);
  auto& bucket = cache[codegen::structural_hash(k)];
  for (const std::unique_ptr<Entry>& e : bucket) {
    if (!(e->kernel == k)) continue;
    ++stats().kernel_cache_hits;
    if (with_text && e->compiled.assembly.empty()) {  // a dump asks for text the first compile skipped
      codegen::CompiledKernel c = codegen::CpuBackend::instance().compile(k, true);
      e->compiled.llvm_ir = std::move(c.llvm_ir);
      e->compiled.assembly = std::move(c.assembly);
    }
    return e->compiled;
  }
  codegen::CompiledKernel c = codegen::CpuBackend::instance().compile(k, with_text);
  ++stats().kernels_compiled;
  stats().compile_ms += c.compile_ms;
  if (log_compiles()) std::fprintf(stderr, "kiln: compiled %s in %.2f ms\n", k.name.c_str(), c.compile_ms);
  bucket.push_back(std::make_unique<Entry>(Entry{k, {c.fn, std::move(c.llvm_ir), std::move(c.assembly)}}));
  return bucket.back()->compiled;
}

void launch(const codegen::Kernel& k, codegen::KernelFn fn, void* const* args, int64_t extent) {
  int64_t points = numel(codegen::outer_extents(k, extent));
  int64_t work_per_point =
      std::max<int64_t>(1, numel(codegen::inner_extents(k, extent))) * (k.reductions.empty() ? 1 : 2);
  // Chunks of at least ~64K element operations amortize a thread hand-off (a few microseconds).
  int64_t grain = std::max<int64_t>(1, (int64_t{1} << 16) / work_per_point);
  ++stats().kernels_launched;
  thread_pool().parallel_for(points, grain, [&](int64_t begin, int64_t end) { fn(args, &extent, begin, end); });
}

}  // namespace kiln::runtime
