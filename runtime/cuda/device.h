// One CUDA device as the backend uses it: its primary context (shared with the CUDA runtime, so
// cuBLAS works in it), one stream for all of Kiln's work on it, and what the code generator and
// the launch configuration need to know (compute capability, multiprocessor count).
#pragma once

#include <array>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/cuda/driver.h"

namespace kiln::runtime::cuda {

class CudaDevice {
 public:
  explicit CudaDevice(int index);
  int index() const { return index_; }
  const std::string& name() const { return name_; }
  int compute_capability() const { return capability_; }  // 90 for sm_90
  int multiprocessors() const { return multiprocessors_; }
  CUstream stream() const { return stream_; }
  // Makes the device's context current on the calling thread (once per thread and device).
  void make_current() const;
  // Waits for all work issued to the stream.
  void synchronize() const;

 private:
  int index_;
  std::string name_;
  int capability_ = 0;
  int multiprocessors_ = 0;
  CUcontext context_ = nullptr;
  CUstream stream_ = nullptr;
};

// Device `index` (opened on first use); kiln::Error naming `op` if there is no such device.
CudaDevice& cuda_device(int index, const char* op);

inline constexpr int kMaxDevices = 64;

// The devices Kiln has used so far in this process.
std::vector<CudaDevice*> opened_devices();

// The one T (constructed from its CudaDevice&) of device `index`, made on first use and never
// destroyed: tensors and kernels alive at exit still use their device's allocator and backend.
template <typename T>
T& per_device(int index, const char* op) {
  CudaDevice& device = cuda_device(index, op);
  static auto* slots = new std::array<std::unique_ptr<T>, kMaxDevices>();
  static std::mutex mu;
  std::lock_guard<std::mutex> lock(mu);
  std::unique_ptr<T>& slot = (*slots)[static_cast<size_t>(device.index())];
  if (!slot) slot = std::make_unique<T>(device);
  return *slot;
}

}  // namespace kiln::runtime::cuda
