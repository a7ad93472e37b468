// The CUDA backend's compile step short of the driver: a kernel's CUDA C (codegen/cuda) compiled
// by NVRTC for one compute capability, through the persistent compile cache (`cuda` entries under
// KILN_CACHE_DIR, runtime/compile_cache.h). The image is a CUBIN where this NVRTC targets the
// architecture, else PTX for the newest architecture it has below it, which the driver finishes
// for the device. The key is the CUDA C itself (which the kernel's structure decides), the target
// and NVRTC's version, so a second process loads what the first compiled and a new toolkit
// compiles again.
#pragma once

#include <string>

#include "codegen/cuda/render.h"
#include "codegen/kernel.h"

namespace kiln::runtime::cuda {

struct KernelImage {
  codegen::cuda::KernelSource source;  // the CUDA C compiled (its symbol, how to launch it)
  std::string image;  // a CUBIN (ELF) or PTX text
  bool cubin = false;
  int arch = 0;       // the architecture compiled for (sm_ for a CUBIN, compute_ for PTX)
  bool loaded = false;  // read from the disk cache rather than compiled
};

// Throws kiln::Error naming the kernel when NVRTC is missing or rejects the code (with its log).
KernelImage compile_kernel_image(const codegen::Kernel& k, int arch);

}  // namespace kiln::runtime::cuda
