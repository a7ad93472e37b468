// Arithmetic helpers shared by the reference kernels.
#pragma once

#include <cstdint>
#include <type_traits>

#include "ir/semantics.h"

namespace kiln::runtime::reference {

// The type the reference executor accumulates T in: floats in double, so the oracle is more exact
// than any backend it checks; float16 and bfloat16 in float32, as their definition says (docs/IR.md:
// float32 accumulation, one rounding), so backends and oracle differ only by summation order;
// bools as integers.
template <typename T>
using Accumulator = std::conditional_t<
    std::is_floating_point_v<T>, double,
    std::conditional_t<is_reduced_float_v<T>, float, std::conditional_t<std::is_same_v<T, bool>, int64_t, T>>>;

// Integer sums and products wrap around on overflow, as elementwise add and mul do; the one
// definition lives with the other per-element semantics.
using ir::wrapping_add;
using ir::wrapping_mul;
using ir::wrapping_sub;

}  // namespace kiln::runtime::reference
