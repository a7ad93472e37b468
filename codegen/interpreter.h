// Executes a Kernel directly, point by point: the kernel IR's own reference semantics. Tests use
// it to check lowering independently of any code generator; it is far too slow for real work.
#pragma once

#include "codegen/kernel.h"

namespace kiln::codegen {

// Same contract as a compiled KernelFn.
void interpret(const Kernel& k, void* const* args, const int64_t* extents, int64_t begin, int64_t end);

}  // namespace kiln::codegen
