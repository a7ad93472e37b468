// Ops that run as library calls rather than generated kernels: matmul through OpenBLAS for
// floating types, and the reference routines for the rest (argmax/argmin, random, integer
// matmul).
#pragma once

#include <vector>

#include "runtime/reference/kernels.h"

namespace kiln::runtime {

// `in[i]` holds input i of `n`, or, where transposed[i] (floating matmul only), input i's operand
// before the swap of its last two axes.
void run_extern(const ir::Node& n, const reference::Inputs& in, void* out, const std::vector<bool>& transposed = {});

}  // namespace kiln::runtime
