// Counters that make the runtime's behaviour observable to tests and tools.
#pragma once

#include <cstdint>

namespace kiln::runtime {

struct Stats {
  int64_t graphs_evaluated = 0;  // calls that executed at least one node
  int64_t nodes_evaluated = 0;   // nodes computed, summed over all graphs
};

Stats& stats();

}  // namespace kiln::runtime
