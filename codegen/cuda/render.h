// Kernel IR -> CUDA C: the CUDA backend's renderer. The source compiles with NVRTC
// (codegen/cuda/nvrtc.h) and is launched through the driver API with one pointer per argument,
// then the runtime extent (a long long, unread when the kernel has none); a value argument
// (Arg::by_value: a runtime scalar, random parameters) is passed by value as KilnValues<T, N>.
//
// Elementwise kernels (no reductions) are a grid-stride loop over the outer points, one thread
// per point. Kernels with reductions give each outer point (a row) a block: its threads stride
// over the inner points, each folds its share, and the block combines the partial results with
// warp shuffles and shared memory, so softmax and layernorm stay one kernel each, as on the CPU.
// A row of fewer than 256 points gets as many threads as it has points, rounded up to a warp.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "codegen/kernel.h"

namespace kiln::codegen::cuda {

struct KernelSource {
  std::string name;     // the kernel's symbol (the Kernel's name)
  std::string code;     // a whole translation unit: the preamble, then the kernel
  int block_threads;    // threads per block to launch with
  bool block_per_point; // one block per outer point (reductions); else one thread per point
};

// Throws std::invalid_argument for a kernel the renderer cannot express.
KernelSource render(const Kernel& k);

// The launch's parameter array (cuLaunchKernel's kernelParams) for one pointer per argument in
// `args` (a value argument's: its elements in host memory) and the runtime extent: each entry
// points at a parameter's value, so a device pointer's entry points into `args` itself.
std::vector<void*> kernel_params(const Kernel& k, void* const* args, int64_t* extent);

// The C type a value of dtype `t` has in generated code, in registers and in memory (bool is
// C++'s one-byte bool): a kernel's parameter i is a pointer to c_type(k.args[i].dtype).
std::string c_type(ScalarType t);

}  // namespace kiln::codegen::cuda
