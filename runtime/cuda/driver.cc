#include "runtime/cuda/driver.h"

#include <dlfcn.h>

namespace kiln::runtime::cuda {

namespace {

// The two driver entry points the probe needs (cuda.h's signatures; CUresult is an int enum).
using CuInit = int (*)(unsigned int flags);
using CuDeviceGetCount = int (*)(int* count);

constexpr int kStubLibrary = 34;  // CUDA_ERROR_STUB_LIBRARY: the toolkit's stub, no real driver
constexpr int kNoDevice = 100;    // CUDA_ERROR_NO_DEVICE

std::string describe(int result) {
  if (result == kStubLibrary) return "the CUDA driver is the toolkit's stub library (CUDA_ERROR_STUB_LIBRARY)";
  if (result == kNoDevice) return "the CUDA driver found no device (CUDA_ERROR_NO_DEVICE)";
  return "cuInit failed with CUresult " + std::to_string(result);
}

}  // namespace

DriverStatus probe_driver(const char* library) {
  DriverStatus s;
  void* handle = dlopen(library, RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    const char* err = dlerror();
    s.reason = std::string("no CUDA driver: ") + (err ? err : library);
    return s;
  }
  auto init = reinterpret_cast<CuInit>(dlsym(handle, "cuInit"));
  auto count = reinterpret_cast<CuDeviceGetCount>(dlsym(handle, "cuDeviceGetCount"));
  if (!init || !count) {
    s.reason = std::string(library) + " has no cuInit/cuDeviceGetCount";
    return s;
  }
  s.loaded = true;
  if (int r = init(0); r != 0) {
    s.reason = describe(r);
    return s;
  }
  int n = 0;
  if (int r = count(&n); r != 0 || n <= 0) {
    s.reason = r != 0 ? describe(r) : "the CUDA driver reports no device";
    return s;
  }
  s.device_count = n;
  return s;
}

const DriverStatus& driver() {
  static const DriverStatus status = probe_driver("libcuda.so.1");
  return status;
}

}  // namespace kiln::runtime::cuda
