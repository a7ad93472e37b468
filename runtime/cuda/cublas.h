// Matmul on the GPU through cuBLAS, loaded with dlopen (libcublas.so.13 on the loader's path, else
// the toolkit's /usr/local/cuda/lib64, else CUDA 12's; KILN_CUBLAS names another library), so that
// machines without the toolkit still build and run the CPU backend.
#pragma once

#include "ir/node.h"
#include "runtime/cuda/device.h"

namespace kiln::runtime::cuda {

// out = a @ b for the MatMul node `n` (float32 or float64, batched over the leading axes), on the
// device's stream; transposed[i]: operand i is stored with its last two axes swapped.
void cublas_matmul(const CudaDevice& device, const ir::Node& n, const void* a, const void* b, void* out,
                   bool trans_a, bool trans_b);

}  // namespace kiln::runtime::cuda
