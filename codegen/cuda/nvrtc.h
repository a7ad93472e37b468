// NVRTC, CUDA's run-time compiler, loaded with dlopen (never linked): Kiln builds and its CPU
// backend runs on machines without the CUDA toolkit. Kernels compile as C++17 with
// -default-device, line info (profilers map SASS back to the CUDA C) and no FMA contraction (the
// CPU backend does not contract either, so both round alike).
#pragma once

#include <string>
#include <vector>

namespace kiln::codegen::cuda {

struct NvrtcResult {
  bool ok = false;
  std::string log;   // NVRTC's messages (errors and warnings)
  std::string code;  // PTX text, or a CUBIN image
};

// Whether NVRTC was found (libnvrtc.so.13 on the loader's path or in /usr/local/cuda/lib64), and
// if not, why; also its version, "13.0".
bool nvrtc_available();
const std::string& nvrtc_problem();
std::string nvrtc_version();

// The compute capabilities this NVRTC compiles CUBINs for (75 for sm_75), ascending; empty when
// NVRTC is missing or does not say.
std::vector<int> nvrtc_architectures();

// Compiles `source` for compute capability `arch` (80 for sm_80): a CUBIN for that GPU when
// `cubin`, else PTX for compute_<arch>, which the driver finishes for any newer GPU. Throws
// std::runtime_error when NVRTC is not available.
NvrtcResult nvrtc_compile(const std::string& source, const std::string& name, int arch, bool cubin);

}  // namespace kiln::codegen::cuda
