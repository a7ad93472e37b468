// Host-to-device copies through pinned (page-locked) staging buffers: the host's bytes are copied
// into a pinned block and the DMA to the device is queued on the stream, so the caller returns
// at once (its memory may change right after) and the copy overlaps the kernels before it. A
// block is reused once the event recorded after its copy has passed; blocks are kept per size
// class (powers of two from 64 KiB) and copies above 64 MiB go straight from pageable memory.
#pragma once

#include <cstddef>
#include <map>
#include <mutex>
#include <vector>

#include "runtime/cuda/device.h"

namespace kiln::runtime::cuda {

class PinnedStaging {
 public:
  explicit PinnedStaging(CudaDevice& device) : device_(device) {}
  // Queues a copy of `bytes` from host memory `src` to device memory `dst` on the device's stream.
  void copy_to_device(CUdeviceptr dst, const void* src, size_t bytes);
  size_t blocks() const;  // pinned blocks obtained so far

 private:
  struct Block {
    void* host = nullptr;
    CUevent done = nullptr;  // recorded after the block's last copy
  };
  Block take(size_t size);

  CudaDevice& device_;
  mutable std::mutex mu_;
  std::map<size_t, std::vector<Block>> blocks_;  // by size class
  size_t count_ = 0;
};

PinnedStaging& pinned_staging(int index);

}  // namespace kiln::runtime::cuda
