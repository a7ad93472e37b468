// The CUDA driver, found at run time: libcuda is loaded with dlopen, never linked, so Kiln builds
// and runs on machines without a GPU or a driver. KILN_CUDA_DRIVER names another library to load
// (a path), which is how tests run the backend against a driver that emulates a device.
//
// The entry points are cuda.h's, declared here by hand with the driver's own types (CUresult is
// an int, handles are opaque pointers, device pointers 64-bit integers) so that no CUDA header is
// needed to build.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace kiln::runtime::cuda {

struct DriverStatus {
  bool loaded = false;   // the library was found and has cuInit
  int device_count = 0;  // devices cuInit and cuDeviceGetCount report (0 on any failure)
  std::string reason;    // why there is no device, when device_count == 0
};

// Loads `library` (a file name for the loader's search path, or a path) and asks it for devices.
// Every call probes anew; the library stays loaded.
DriverStatus probe_driver(const char* library);

// The process's answer for its driver (KILN_CUDA_DRIVER, else "libcuda.so.1"), probed once.
const DriverStatus& driver();

using CUresult = int;
using CUdevice = int;
using CUdeviceptr = unsigned long long;
using CUcontext = struct CUctx_st*;
using CUstream = struct CUstream_st*;
using CUmodule = struct CUmod_st*;
using CUfunction = struct CUfunc_st*;
using CUevent = struct CUevent_st*;

// The driver entry points the backend calls (their _v2 symbols where cuda.h maps to one).
struct DriverApi {
  CUresult (*cuGetErrorName)(CUresult, const char**);
  CUresult (*cuDeviceGet)(CUdevice*, int);
  CUresult (*cuDeviceGetAttribute)(int*, int, CUdevice);
  CUresult (*cuDeviceGetName)(char*, int, CUdevice);
  CUresult (*cuDevicePrimaryCtxRetain)(CUcontext*, CUdevice);
  CUresult (*cuCtxGetCurrent)(CUcontext*);
  CUresult (*cuCtxSetCurrent)(CUcontext);
  CUresult (*cuStreamCreate)(CUstream*, unsigned);
  CUresult (*cuStreamSynchronize)(CUstream);
  CUresult (*cuMemAlloc)(CUdeviceptr*, size_t);
  CUresult (*cuMemFree)(CUdeviceptr);
  CUresult (*cuMemHostAlloc)(void**, size_t, unsigned);
  CUresult (*cuMemFreeHost)(void*);
  CUresult (*cuMemcpyAsync)(CUdeviceptr, CUdeviceptr, size_t, CUstream);
  CUresult (*cuMemcpyHtoDAsync)(CUdeviceptr, const void*, size_t, CUstream);
  CUresult (*cuMemcpyDtoHAsync)(void*, CUdeviceptr, size_t, CUstream);
  CUresult (*cuModuleLoadData)(CUmodule*, const void*);
  CUresult (*cuModuleGetFunction)(CUfunction*, CUmodule, const char*);
  CUresult (*cuModuleUnload)(CUmodule);
  CUresult (*cuEventCreate)(CUevent*, unsigned);
  CUresult (*cuEventRecord)(CUevent, CUstream);
  CUresult (*cuEventQuery)(CUevent);
  CUresult (*cuLaunchKernel)(CUfunction, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, unsigned, CUstream,
                             void**, void**);
};

// The loaded driver's entry points; kiln::Error (naming `op` and why) when it has no device.
const DriverApi& driver_api(const char* op);

// Throws kiln::Error "`op`: `what` failed: CUDA_ERROR_..." unless `result` is CUDA_SUCCESS.
void check_cuda(CUresult result, const char* op, const std::string& what);

}  // namespace kiln::runtime::cuda
