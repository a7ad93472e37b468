// Ops that run as library calls rather than generated kernels: matmul through OpenBLAS for
// floating types, and the reference routines for the rest (argmax/argmin, random, integer
// matmul).
#pragma once

#include "runtime/reference/kernels.h"

namespace kiln::runtime {

void run_extern(const ir::Node& n, const reference::Inputs& in, void* out);

}  // namespace kiln::runtime
