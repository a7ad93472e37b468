#include "runtime/kernel_cache.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <list>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

#include "runtime/stats.h"

namespace kiln::runtime {

namespace {

size_t capacity_from_env() {
  const char* v = std::getenv("KILN_KERNEL_CACHE");
  long n = v ? std::strtol(v, nullptr, 10) : 0;
  return n > 0 ? static_cast<size_t>(n) : 4096;
}

using Compiled = std::shared_ptr<const Program>;

// One kernel on one backend: its compile (a future other threads may wait on).
struct Entry {
  Backend* backend;
  codegen::Kernel kernel;  // kept to tell hash collisions apart
  std::shared_future<Compiled> compiled;
  uint64_t serial;  // which insertion this is
};

// Least recently used first; entries found by structural hash.
class KernelCache {
 public:
  Compiled get(Backend& backend, const codegen::Kernel& k, bool with_artifacts, const std::string& purpose) {
    std::promise<Compiled> promise;
    std::shared_future<Compiled> future;
    uint64_t mine = 0;  // the serial of the entry this thread inserted, and so compiles
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = find(backend, k)) {
        ++stats().kernel_cache_hits;
        future = (*it)->compiled;
      } else {
        future = promise.get_future().share();
        mine = ++serial_;
        insert(Entry{&backend, k, future, mine});
      }
    }
    if (!mine) return future.get();  // compiled, or being compiled by another thread
    try {
      auto t0 = std::chrono::steady_clock::now();
      Compiled program = backend.compile(k, with_artifacts);
      double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
      ++(program->from_compile_cache ? stats().kernels_loaded : stats().kernels_compiled);
      stats().compile_ms += ms;
      if (!purpose.empty())
        std::fprintf(stderr, "kiln: %s %s (%s) for %s in %.2f ms\n",
                     program->from_compile_cache ? "loaded from the compile cache" : "compiled", k.name.c_str(),
                     purpose.c_str(), backend.device().str().c_str(), ms);
      promise.set_value(std::move(program));
    } catch (...) {
      forget(backend, k, mine);  // a failed compile is not cached: the next call tries again
      promise.set_exception(std::current_exception());
    }
    return future.get();
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

  std::vector<codegen::Kernel> kernels() {
    std::lock_guard<std::mutex> lock(mu_);
    std::vector<codegen::Kernel> out;
    for (const Entry& e : lru_) out.push_back(e.kernel);
    return out;
  }

 private:
  using List = std::list<Entry>;

  // The entry for `k`, moved to the most recently used end; null if absent. Caller holds mu_.
  std::optional<List::iterator> find(Backend& backend, const codegen::Kernel& k) {
    auto bucket = by_hash_.find(codegen::structural_hash(k));
    if (bucket == by_hash_.end()) return std::nullopt;
    for (List::iterator it : bucket->second)
      if (it->backend == &backend && it->kernel == k) {
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

  void forget(Backend& backend, const codegen::Kernel& k, uint64_t serial) {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = find(backend, k); it && (*it)->serial == serial) remove(*it);
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

std::shared_ptr<const Program> compile(Backend& backend, const codegen::Kernel& k, bool with_artifacts,
                                       const std::string& purpose) {
  return cache().get(backend, k, with_artifacts, purpose);
}
void set_kernel_cache_capacity(size_t kernels) { cache().set_capacity(kernels); }
size_t kernel_cache_size() { return cache().size(); }
std::vector<codegen::Kernel> cached_kernels() { return cache().kernels(); }

}  // namespace kiln::runtime
