// The CPU backend's library ops, run rather than generated: matmul through OpenBLAS for floating
// types, and the reference routines for the rest (argmax/argmin, integer matmul, transfers).
#pragma once

#include <vector>

#include "runtime/reference/kernels.h"

namespace kiln::runtime::cpu {

// `in[i]` holds input i of `n`, or, where transposed[i] (floating matmul only), input i's operand
// before the swap of its last two axes.
void run_extern(const ir::Node& n, const reference::Inputs& in, void* out, const std::vector<bool>& transposed = {});

}  // namespace kiln::runtime::cpu
