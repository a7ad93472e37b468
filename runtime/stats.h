// Counters that make the runtime's behaviour observable to tests and tools.
#pragma once

#include <atomic>
#include <cstdint>

namespace kiln::runtime {

// Process-wide, updated by every thread that evaluates.
struct Stats {
  std::atomic<int64_t> graphs_evaluated{0};  // calls that executed at least one node
  std::atomic<int64_t> nodes_evaluated{0};   // nodes computed, summed over all graphs
  std::atomic<int64_t> kernels_launched{0};  // compiled kernels run
  std::atomic<int64_t> kernels_compiled{0};  // kernels JIT-compiled (cache misses)
  std::atomic<int64_t> kernels_loaded{0};    // kernel cache misses read from the persistent compile cache
  std::atomic<int64_t> kernel_cache_hits{0};
  std::atomic<double> compile_ms{0};         // JIT compile time, summed
  std::atomic<int64_t> kernels_cached{0};    // entries in the kernel cache now
  std::atomic<int64_t> kernels_evicted{0};
  std::atomic<int64_t> schedules_built{0};
  std::atomic<int64_t> schedule_cache_hits{0};
  std::atomic<int64_t> schedules_cached{0};  // entries in the schedule cache now
  std::atomic<int64_t> schedules_evicted{0};
};

Stats& stats();

}  // namespace kiln::runtime
