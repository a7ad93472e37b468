// Device memory without a cuMemAlloc per step: blocks are rounded up to a size class (512 bytes
// below 1 MiB, 128 KiB above) and a freed block waits in its class for the next request of that
// class, as PyTorch's caching allocator does. All of Kiln's work on a device is on one stream, so
// a block freed while kernels that use it are still queued can be handed out again at once: the
// next user's work runs after theirs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include "ir/storage.h"
#include "runtime/cuda/device.h"

namespace kiln::runtime::cuda {

// kiln::cuda::memory_stats(), per device.
struct MemoryStats {
  int64_t allocated_bytes = 0;       // in blocks held by tensors now (rounded to the size class)
  int64_t peak_allocated_bytes = 0;  // the most allocated_bytes has been
  int64_t reserved_bytes = 0;        // obtained from the driver and not yet returned (held + cached)
  int64_t device_allocations = 0;    // cuMemAlloc calls so far
  int64_t cache_hits = 0;            // requests served from the cache
};

class DeviceAllocator final : public ir::DeviceMemory {
 public:
  explicit DeviceAllocator(CudaDevice& device) : device_(device) {}

  // A block of at least `bytes`; when the driver is out of memory, the cache is returned to it
  // and the request tried once more before a kiln::Error naming the size and the device's use.
  std::shared_ptr<ir::Storage> allocate(size_t bytes) override;
  void copy(void* dst, const void* src, size_t bytes) override;

  MemoryStats stats() const;
  // Returns the cached (unused) blocks to the driver.
  void empty_cache();

  static size_t size_class(size_t bytes);

 private:
  void release(CUdeviceptr block, size_t size);
  void free_cached_locked();

  CudaDevice& device_;
  mutable std::mutex mu_;
  std::map<size_t, std::vector<CUdeviceptr>> cached_;  // by size class
  MemoryStats stats_;
};

DeviceAllocator& device_allocator(int index);

}  // namespace kiln::runtime::cuda
