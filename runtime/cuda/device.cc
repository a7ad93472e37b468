#include "runtime/cuda/device.h"

#include <algorithm>
#include <array>
#include <memory>
#include <mutex>

#include "ir/error.h"

namespace kiln::runtime::cuda {

namespace {

// cuda.h's CUdevice_attribute values.
constexpr int kMultiprocessorCount = 16;
constexpr int kComputeCapabilityMajor = 75;
constexpr int kComputeCapabilityMinor = 76;
constexpr unsigned kStreamNonBlocking = 1;  // no implicit synchronization with the legacy stream

}  // namespace

CudaDevice::CudaDevice(int index) : index_(index) {
  const DriverApi& api = driver_api("cuda");
  CUdevice device = 0;
  check_cuda(api.cuDeviceGet(&device, index), "cuda", "cuDeviceGet(" + std::to_string(index) + ")");
  std::array<char, 256> name{};
  check_cuda(api.cuDeviceGetName(name.data(), static_cast<int>(name.size()), device), "cuda", "cuDeviceGetName");
  name_ = name.data();
  int major = 0, minor = 0;
  check_cuda(api.cuDeviceGetAttribute(&major, kComputeCapabilityMajor, device), "cuda", "cuDeviceGetAttribute");
  check_cuda(api.cuDeviceGetAttribute(&minor, kComputeCapabilityMinor, device), "cuda", "cuDeviceGetAttribute");
  check_cuda(api.cuDeviceGetAttribute(&multiprocessors_, kMultiprocessorCount, device), "cuda",
             "cuDeviceGetAttribute");
  capability_ = major * 10 + minor;
  check_cuda(api.cuDevicePrimaryCtxRetain(&context_, device), "cuda", "cuDevicePrimaryCtxRetain");
  make_current();
  check_cuda(api.cuStreamCreate(&stream_, kStreamNonBlocking), "cuda", "cuStreamCreate");
}

// Asks the driver each time (a cheap, thread-local query): other code on the thread (the CUDA
// runtime's cudaSetDevice) may have made another context current.
void CudaDevice::make_current() const {
  const DriverApi& api = driver_api("cuda");
  CUcontext current = nullptr;
  check_cuda(api.cuCtxGetCurrent(&current), "cuda", "cuCtxGetCurrent");
  if (current != context_) check_cuda(api.cuCtxSetCurrent(context_), "cuda", "cuCtxSetCurrent");
}

void CudaDevice::synchronize() const {
  make_current();
  check_cuda(driver_api("cuda").cuStreamSynchronize(stream_), "cuda", "cuStreamSynchronize");
}

namespace {
// The devices opened so far; never destroyed: tensors and kernels alive at exit still use them.
std::array<std::unique_ptr<CudaDevice>, kMaxDevices>& open_devices() {
  static auto* devices = new std::array<std::unique_ptr<CudaDevice>, kMaxDevices>();
  return *devices;
}
std::mutex& open_devices_mutex() {
  static std::mutex mu;
  return mu;
}
}  // namespace

std::vector<CudaDevice*> opened_devices() {
  std::lock_guard<std::mutex> lock(open_devices_mutex());
  std::vector<CudaDevice*> out;
  for (auto& d : open_devices())
    if (d) out.push_back(d.get());
  return out;
}

CudaDevice& cuda_device(int index, const char* op) {
  int count = driver().device_count;
  driver_api(op);  // says why there is no device, if there is none
  check(index >= 0 && index < std::min(count, kMaxDevices), op, {}, [&] {
    return "device cuda:" + std::to_string(index) + " requested, but this machine has " + std::to_string(count) +
           " CUDA device(s)";
  });
  std::lock_guard<std::mutex> lock(open_devices_mutex());
  auto& d = open_devices()[static_cast<size_t>(index)];
  if (!d) d = std::make_unique<CudaDevice>(index);
  return *d;
}

}  // namespace kiln::runtime::cuda
