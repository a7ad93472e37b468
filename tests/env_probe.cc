// A child process for tests of settings read once from the environment (see child_process.h).
// `env_probe threads` prints the thread pool's size as first seen, how many distinct threads one
// parallel_for used, the size after KILN_NUM_THREADS changed, and OpenBLAS's thread count.
// `env_probe cache` prints the allocator's cache limit and the hits of a free-then-allocate pair.
#include <cblas.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "ir/allocator.h"
#include "ir/storage.h"
#include "runtime/thread_pool.h"

namespace {

int probe_threads() {
  kiln::runtime::ThreadPool& pool = kiln::runtime::thread_pool();
  int n = pool.num_threads();
  // Every chunk waits until all have started, so each must be on its own thread.
  std::atomic<int> started{0};
  std::mutex mu;
  std::set<std::thread::id> ids;
  pool.parallel_for(n, 1, [&](int64_t, int64_t) {
    {
      std::lock_guard<std::mutex> lock(mu);
      ids.insert(std::this_thread::get_id());
    }
    ++started;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (started.load() < n && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  });
  setenv("KILN_NUM_THREADS", "7", 1);  // too late: the pool read it at first use
  int after = kiln::runtime::thread_pool().num_threads();
  kiln::runtime::configure_blas_threads();
  std::printf("num_threads=%d distinct=%zu after_setenv=%d blas=%d\n", n, ids.size(), after,
              openblas_get_num_threads());
  return 0;
}

int probe_cache() {
  kiln::ir::Storage::allocate(4096).reset();
  kiln::ir::Storage::allocate(4096).reset();  // a hit unless caching is off
  kiln::ir::AllocatorStats s = kiln::ir::allocator_stats();
  std::printf("cache_limit=%zu hits=%lld\n", kiln::ir::cache_limit(), static_cast<long long>(s.hits));
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  std::string mode = argc > 1 ? argv[1] : "";
  if (mode == "threads") return probe_threads();
  if (mode == "cache") return probe_cache();
  std::fprintf(stderr, "usage: env_probe threads|cache\n");
  return 2;
}
