// The CUDA driver, found at run time: libcuda is loaded with dlopen, never linked, so Kiln builds
// and runs on machines without a GPU or a driver. This is the slot the CUDA backend (issue #12)
// fills; today it answers whether a device exists.
#pragma once

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

// The process's answer for "libcuda.so.1", probed once.
const DriverStatus& driver();

}  // namespace kiln::runtime::cuda
