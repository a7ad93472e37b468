#include "runtime/kernel_cache.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <future>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "codegen/cpu/compiler.h"
#include "codegen/runtime_extent.h"
#include "runtime/stats.h"
#include "runtime/thread_pool.h"

namespace kiln::runtime {

namespace {

bool log_compiles() {
  static const bool enabled = [] {
    const char* v = std::getenv("KILN_LOG");
    return v && std::strstr(v, "compile") != nullptr;
  }();
  return enabled;
}

size_t capacity_from_env() {
  const char* v = std::getenv("KILN_KERNEL_CACHE");
  long n = v ? std::strtol(v, nullptr, 10) : 0;
  return n > 0 ? static_cast<size_t>(n) : 4096;
}

using Compiled = std::shared_ptr<const CompiledKernel>;

// One kernel: its compile (a future other threads may wait on) and, once a dump asked, its text.
struct Entry {
  codegen::Kernel kernel;  // kept to tell hash collisions apart
  std::shared_future<Compiled> compiled;
  std::optional<KernelText> text;
  uint64_t serial;  // which insertion this is
};

// Least recently used first; entries found by structural hash.
class KernelCache {
 public:
  Compiled get(const codegen::Kernel& k) {
    std::promise<Compiled> promise;
    std::shared_future<Compiled> future;
    uint64_t mine = 0;  // the serial of the entry this thread inserted, and so compiles
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = find(k)) {
        ++stats().kernel_cache_hits;
        future = (*it)->compiled;
      } else {
        future = promise.get_future().share();
        mine = ++serial_;
        insert(Entry{k, future, std::nullopt, mine});
      }
    }
    if (!mine) return future.get();  // compiled, or being compiled by another thread
    try {
      codegen::cpu::CompiledKernel c = codegen::cpu::Compiler::instance().compile(k);
      ++stats().kernels_compiled;
      stats().compile_ms += c.compile_ms;
      if (log_compiles()) std::fprintf(stderr, "kiln: compiled %s in %.2f ms\n", k.name.c_str(), c.compile_ms);
      promise.set_value(std::make_shared<const CompiledKernel>(CompiledKernel{c.fn, std::move(c.code)}));
    } catch (...) {
      forget(k, mine);  // a failed compile is not cached: the next call tries again
      promise.set_exception(std::current_exception());
    }
    return future.get();
  }

  KernelText text(const codegen::Kernel& k) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = find(k); it && (*it)->text) return *(*it)->text;
    }
    codegen::cpu::KernelText t = codegen::cpu::Compiler::instance().text(k);  // outside the lock: slow
    KernelText text{std::move(t.llvm_ir), std::move(t.assembly)};
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = find(k)) (*it)->text = text;
    return text;
  }

  void set_capacity(size_t n) {
    std::lock_guard<std::mutex> lock(mu_);
    capacity_ = std::max<size_t>(1, n);
    evict();
  }

  size_t size() {
    std::lock_guard<std::mutex> lock(mu_);
    return lru_.size();
  }

 private:
  using List = std::list<Entry>;

  // The entry for `k`, moved to the most recently used end; null if absent. Caller holds mu_.
  std::optional<List::iterator> find(const codegen::Kernel& k) {
    auto bucket = by_hash_.find(codegen::structural_hash(k));
    if (bucket == by_hash_.end()) return std::nullopt;
    for (List::iterator it : bucket->second)
      if (it->kernel == k) {
        lru_.splice(lru_.end(), lru_, it);
        return it;
      }
    return std::nullopt;
  }

  void insert(Entry e) {
    uint64_t h = codegen::structural_hash(e.kernel);
    lru_.push_back(std::move(e));
    by_hash_[h].push_back(std::prev(lru_.end()));
    stats().kernels_cached = static_cast<int64_t>(lru_.size());
    evict();
  }

  void evict() {
    while (lru_.size() > capacity_) {
      remove(lru_.begin());
      ++stats().kernels_evicted;
    }
  }

  void remove(List::iterator it) {
    auto bucket = by_hash_.find(codegen::structural_hash(it->kernel));
    std::vector<List::iterator>& v = bucket->second;
    v.erase(std::find(v.begin(), v.end(), it));
    if (v.empty()) by_hash_.erase(bucket);
    lru_.erase(it);
    stats().kernels_cached = static_cast<int64_t>(lru_.size());
  }

  void forget(const codegen::Kernel& k, uint64_t serial) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = find(k); it && (*it)->serial == serial) remove(*it);
  }

  std::mutex mu_;
  size_t capacity_ = capacity_from_env();
  uint64_t serial_ = 0;
  List lru_;
  std::unordered_map<uint64_t, std::vector<List::iterator>> by_hash_;
};

KernelCache& cache() {
  static KernelCache* c = new KernelCache();  // never destroyed: kernels may run at exit
  return *c;
}

}  // namespace

std::shared_ptr<const CompiledKernel> compile(const codegen::Kernel& k) { return cache().get(k); }
KernelText kernel_text(const codegen::Kernel& k) { return cache().text(k); }
void set_kernel_cache_capacity(size_t kernels) { cache().set_capacity(kernels); }
size_t kernel_cache_size() { return cache().size(); }

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
