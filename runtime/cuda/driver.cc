#include "runtime/cuda/driver.h"

#include <dlfcn.h>

#include <cstdlib>

#include "ir/error.h"

namespace kiln::runtime::cuda {

namespace {

// The two driver entry points the probe needs.
using CuInit = CUresult (*)(unsigned int flags);
using CuDeviceGetCount = CUresult (*)(int* count);

constexpr CUresult kStubLibrary = 34;  // CUDA_ERROR_STUB_LIBRARY: the toolkit's stub, no real driver
constexpr CUresult kNoDevice = 100;    // CUDA_ERROR_NO_DEVICE

std::string describe(CUresult result) {
  if (result == kStubLibrary) return "the CUDA driver is the toolkit's stub library (CUDA_ERROR_STUB_LIBRARY)";
  if (result == kNoDevice) return "the CUDA driver found no device (CUDA_ERROR_NO_DEVICE)";
  return "cuInit failed with CUresult " + std::to_string(result);
}

const char* driver_library() {
  const char* chosen = std::getenv("KILN_CUDA_DRIVER");
  return chosen && *chosen ? chosen : "libcuda.so.1";
}

// The entry points of the process's driver, or why there are none.
struct LoadedApi {
  DriverApi api{};
  std::string problem;
};

LoadedApi load_api() {
  LoadedApi loaded;
  const DriverStatus& status = driver();
  if (status.device_count == 0) {
    loaded.problem = "CUDA is not available (" + status.reason + ")";
    return loaded;
  }
  void* handle = dlopen(driver_library(), RTLD_NOW | RTLD_LOCAL);  // already loaded by the probe
  auto bind = [&](auto& slot, const char* symbol) {
    slot = reinterpret_cast<std::remove_reference_t<decltype(slot)>>(dlsym(handle, symbol));
    if (!slot && loaded.problem.empty()) loaded.problem = std::string("the CUDA driver has no ") + symbol;
  };
  DriverApi& a = loaded.api;
  bind(a.cuGetErrorName, "cuGetErrorName");
  bind(a.cuDeviceGet, "cuDeviceGet");
  bind(a.cuDeviceGetAttribute, "cuDeviceGetAttribute");
  bind(a.cuDeviceGetName, "cuDeviceGetName");
  bind(a.cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain");
  bind(a.cuCtxGetCurrent, "cuCtxGetCurrent");
  bind(a.cuCtxSetCurrent, "cuCtxSetCurrent");
  bind(a.cuStreamCreate, "cuStreamCreate");
  bind(a.cuStreamSynchronize, "cuStreamSynchronize");
  bind(a.cuMemAlloc, "cuMemAlloc_v2");
  bind(a.cuMemFree, "cuMemFree_v2");
  bind(a.cuMemHostAlloc, "cuMemHostAlloc");
  bind(a.cuMemFreeHost, "cuMemFreeHost");
  bind(a.cuMemcpyAsync, "cuMemcpyAsync");
  bind(a.cuMemcpyHtoDAsync, "cuMemcpyHtoDAsync_v2");
  bind(a.cuMemcpyDtoHAsync, "cuMemcpyDtoHAsync_v2");
  bind(a.cuModuleLoadData, "cuModuleLoadData");
  bind(a.cuModuleGetFunction, "cuModuleGetFunction");
  bind(a.cuModuleUnload, "cuModuleUnload");
  bind(a.cuEventCreate, "cuEventCreate");
  bind(a.cuEventRecord, "cuEventRecord");
  bind(a.cuEventQuery, "cuEventQuery");
  bind(a.cuLaunchKernel, "cuLaunchKernel");
  return loaded;
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
  if (CUresult r = init(0); r != 0) {
    s.reason = describe(r);
    return s;
  }
  int n = 0;
  if (CUresult r = count(&n); r != 0 || n <= 0) {
    s.reason = r != 0 ? describe(r) : "the CUDA driver reports no device";
    return s;
  }
  s.device_count = n;
  return s;
}

const DriverStatus& driver() {
  static const DriverStatus status = probe_driver(driver_library());
  return status;
}

const DriverApi& driver_api(const char* op) {
  static const LoadedApi* loaded = new LoadedApi(load_api());  // never destroyed: programs unload at exit
  check(loaded->problem.empty(), op, {}, loaded->problem);
  return loaded->api;
}

void check_cuda(CUresult result, const char* op, const std::string& what) {
  if (result == 0) return;
  const char* name = nullptr;
  if (driver_api(op).cuGetErrorName(result, &name) != 0 || !name) name = "an unknown CUresult";
  throw Error(op, what + " failed: " + name + " (" + std::to_string(result) + ")", {});
}

}  // namespace kiln::runtime::cuda
