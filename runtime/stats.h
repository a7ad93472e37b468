// Counters that make the runtime's behaviour observable to tests and tools.
#pragma once

#include <cstdint>

namespace kiln::runtime {

struct Stats {
  int64_t graphs_evaluated = 0;  // calls that executed at least one node
  int64_t nodes_evaluated = 0;   // nodes computed, summed over all graphs
  int64_t kernels_launched = 0;  // compiled kernels run
  int64_t kernels_compiled = 0;  // kernels JIT-compiled (cache misses)
  int64_t kernel_cache_hits = 0;
  double compile_ms = 0;         // JIT compile time, summed
};

Stats& stats();

}  // namespace kiln::runtime
