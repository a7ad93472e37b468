#include "runtime/cuda/allocator.h"

#include <algorithm>

#include "ir/error.h"

namespace kiln::runtime::cuda {

namespace {
constexpr CUresult kOutOfMemory = 2;  // CUDA_ERROR_OUT_OF_MEMORY
constexpr size_t kSmallLimit = size_t{1} << 20;
constexpr size_t kSmallStep = 512, kLargeStep = size_t{128} << 10;
}  // namespace

size_t DeviceAllocator::size_class(size_t bytes) {
  size_t step = bytes < kSmallLimit ? kSmallStep : kLargeStep;
  return std::max<size_t>(step, (bytes + step - 1) / step * step);
}

std::shared_ptr<ir::Storage> DeviceAllocator::allocate(size_t bytes) {
  size_t size = size_class(bytes);
  CUdeviceptr block = 0;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (auto it = cached_.find(size); it != cached_.end() && !it->second.empty()) {
      block = it->second.back();
      it->second.pop_back();
      ++stats_.cache_hits;
    } else {
      const DriverApi& api = driver_api("cuda");
      device_.make_current();
      CUresult r = api.cuMemAlloc(&block, size);
      if (r == kOutOfMemory) {
        free_cached_locked();
        r = api.cuMemAlloc(&block, size);
      }
      if (r != 0) {
        std::string use = std::to_string(stats_.allocated_bytes) + " bytes in use";
        check_cuda(r, "cuda", "allocating " + std::to_string(bytes) + " bytes on cuda:" +
                                  std::to_string(device_.index()) + " (" + use + ")");
      }
      ++stats_.device_allocations;
      stats_.reserved_bytes += static_cast<int64_t>(size);
    }
    stats_.allocated_bytes += static_cast<int64_t>(size);
    stats_.peak_allocated_bytes = std::max(stats_.peak_allocated_bytes, stats_.allocated_bytes);
  }
  return ir::Storage::on_device(reinterpret_cast<void*>(block), bytes, this,
                                [this, size](void* p) { release(reinterpret_cast<CUdeviceptr>(p), size); });
}

void DeviceAllocator::release(CUdeviceptr block, size_t size) {
  std::lock_guard<std::mutex> lock(mu_);
  stats_.allocated_bytes -= static_cast<int64_t>(size);
  cached_[size].push_back(block);
}

void DeviceAllocator::copy(void* dst, const void* src, size_t bytes) {
  if (bytes == 0) return;
  device_.make_current();
  check_cuda(driver_api("cuda").cuMemcpyAsync(reinterpret_cast<CUdeviceptr>(dst), reinterpret_cast<CUdeviceptr>(src),
                                              bytes, device_.stream()),
             "cuda", "cuMemcpyAsync of " + std::to_string(bytes) + " bytes");
}

MemoryStats DeviceAllocator::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

void DeviceAllocator::empty_cache() {
  std::lock_guard<std::mutex> lock(mu_);
  free_cached_locked();
}

void DeviceAllocator::free_cached_locked() {
  device_.synchronize();  // queued work may still read a cached block
  const DriverApi& api = driver_api("cuda");
  for (auto& [size, blocks] : cached_) {
    for (CUdeviceptr b : blocks) {
      check_cuda(api.cuMemFree(b), "cuda", "cuMemFree");
      stats_.reserved_bytes -= static_cast<int64_t>(size);
    }
    blocks.clear();
  }
}

DeviceAllocator& device_allocator(int index) { return per_device<DeviceAllocator>(index, "cuda"); }

}  // namespace kiln::runtime::cuda
