// Runtime extents: a kernel whose leading loop's extent is passed at launch, so that one compiled
// function serves every batch size.
//
// A loop variable's extent may be a launch argument when every load and store that reads the
// variable indexes its argument as c*var + r, with the same c > 0 for every access to that
// argument, 0 <= r < c for stores, and the argument holding c*extent elements (it is then
// `scaled`: numel counts elements per unit of the extent); no other access reads the variable.
// Each store then stays in bounds at any extent; a load whose r may leave [0, c) (a pad or concat
// reading past its operand, for a value it discards) is checked against c*extent at run time, as
// any load that may leave its argument. The kernel computes at extent E exactly what the same group
// lowered at E computes: groups lowered at different extents that give the same kernel share
// its code.
#pragma once

#include <string>
#include <vector>

#include "codegen/index_range.h"
#include "codegen/kernel.h"

namespace kiln::codegen {

// The largest runtime extent a kernel is compiled for (backends may assume it in range analysis).
constexpr int64_t kMaxRuntimeExtent = int64_t{1} << 40;

// Each index's range with the runtime variable at 0: the r of c*var + r. An access to a scaled
// argument whose r lies in [0, numel) is in bounds at every extent without a check.
std::vector<Interval> residual_ranges(const Kernel& k);

// Makes loop variable `var`'s extent a launch argument of `k` when the rule above allows it;
// returns whether it did (`k` is unchanged when not).
bool make_extent_runtime(Kernel& k, int var);

// Why `k`'s runtime extent breaks the rule above; empty when it holds or `k` has none. Backends
// check it before they trust a scaled argument's bounds.
std::string runtime_extent_problem(const Kernel& k);

// `k`'s outer and inner extents, and argument `arg`'s element count, at runtime extent `extent`.
Shape outer_extents(const Kernel& k, int64_t extent);
Shape inner_extents(const Kernel& k, int64_t extent);
int64_t arg_numel(const Kernel& k, int arg, int64_t extent);

}  // namespace kiln::codegen
