// kiln::cuda, as torch::cuda: whether this machine has a CUDA device Kiln can use, and the device
// side's state. The driver is loaded at run time, so these work (and say no) on machines without a
// GPU or a driver; the calls that need a device raise kiln::Error there.
#pragma once

#include <cstdint>

namespace kiln::cuda {

bool is_available();  // a driver with at least one device
int device_count();   // 0 when not available

// Waits until the work issued to device `index` (-1: every device Kiln has used) is done.
void synchronize(int index = -1);

// The caching allocator's counters for device `index` (as torch.cuda.memory_stats).
struct MemoryStats {
  int64_t allocated_bytes = 0;       // held by tensors now (rounded to the allocator's size classes)
  int64_t peak_allocated_bytes = 0;
  int64_t reserved_bytes = 0;        // obtained from the driver: held and cached
  int64_t device_allocations = 0;    // cuMemAlloc calls so far
  int64_t cache_hits = 0;            // requests served by a cached block
};
MemoryStats memory_stats(int index = 0);
// Returns cached, unused blocks to the driver (torch.cuda.empty_cache).
void empty_cache(int index = 0);

// Random streams are counter-based (Philox) and shared by all devices: a seed gives the GPU the
// same values as the CPU. These are kiln::manual_seed under LibTorch's CUDA names.
void manual_seed(uint64_t seed);
void manual_seed_all(uint64_t seed);

}  // namespace kiln::cuda
