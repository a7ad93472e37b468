#include "runtime/cuda/staging.h"

#include <cstring>

namespace kiln::runtime::cuda {

namespace {
constexpr size_t kSmallest = size_t{64} << 10, kLargest = size_t{64} << 20;
constexpr CUresult kNotReady = 600;            // CUDA_ERROR_NOT_READY: the event has not passed
constexpr unsigned kEventDisableTiming = 2;    // CU_EVENT_DISABLE_TIMING
}  // namespace

PinnedStaging::Block PinnedStaging::take(size_t size) {
  const DriverApi& api = driver_api("cuda");
  std::vector<Block>& blocks = blocks_[size];
  for (Block& b : blocks) {
    CUresult r = api.cuEventQuery(b.done);
    if (r == kNotReady) continue;
    check_cuda(r, "cuda", "cuEventQuery");
    Block free = b;
    b = blocks.back();
    blocks.pop_back();
    return free;
  }
  Block b;
  check_cuda(api.cuMemHostAlloc(&b.host, size, 0), "cuda", "allocating " + std::to_string(size) + " bytes of pinned memory");
  check_cuda(api.cuEventCreate(&b.done, kEventDisableTiming), "cuda", "cuEventCreate");
  ++count_;
  return b;
}

void PinnedStaging::copy_to_device(CUdeviceptr dst, const void* src, size_t bytes) {
  const DriverApi& api = driver_api("cuda");
  device_.make_current();
  if (bytes > kLargest) {  // the driver stages it, and returns once it has the bytes
    check_cuda(api.cuMemcpyHtoDAsync(dst, src, bytes, device_.stream()), "cuda",
               "copying " + std::to_string(bytes) + " bytes to the device");
    return;
  }
  size_t size = kSmallest;
  while (size < bytes) size *= 2;
  std::lock_guard<std::mutex> lock(mu_);
  Block b = take(size);
  std::memcpy(b.host, src, bytes);
  CUresult copied = api.cuMemcpyHtoDAsync(dst, b.host, bytes, device_.stream());
  CUresult recorded = copied == 0 ? api.cuEventRecord(b.done, device_.stream()) : 0;
  blocks_[size].push_back(b);  // back to its class whatever happened, not leaked
  check_cuda(copied, "cuda", "copying " + std::to_string(bytes) + " bytes to the device");
  check_cuda(recorded, "cuda", "cuEventRecord");
}

size_t PinnedStaging::blocks() const {
  std::lock_guard<std::mutex> lock(mu_);
  return count_;
}

PinnedStaging& pinned_staging(int index) { return per_device<PinnedStaging>(index, "cuda"); }

}  // namespace kiln::runtime::cuda
