#include "kiln/cuda.h"

#include "kiln/functions.h"
#include "runtime/cuda/allocator.h"
#include "runtime/cuda/driver.h"

namespace kiln::cuda {

bool is_available() { return device_count() > 0; }
int device_count() { return runtime::cuda::driver().device_count; }

void synchronize(int index) {
  if (index >= 0) return runtime::cuda::cuda_device(index, "cuda::synchronize").synchronize();
  for (runtime::cuda::CudaDevice* d : runtime::cuda::opened_devices()) d->synchronize();
}

MemoryStats memory_stats(int index) {
  runtime::cuda::MemoryStats s = runtime::cuda::device_allocator(index).stats();
  return {s.allocated_bytes, s.peak_allocated_bytes, s.reserved_bytes, s.device_allocations, s.cache_hits};
}

void empty_cache(int index) { runtime::cuda::device_allocator(index).empty_cache(); }

void manual_seed(uint64_t seed) { kiln::manual_seed(seed); }
void manual_seed_all(uint64_t seed) { kiln::manual_seed(seed); }

}  // namespace kiln::cuda
