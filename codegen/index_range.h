// Analyses of a kernel's index arithmetic that every backend and the runtime-extent rewrite
// share: conservative value ranges, and the coefficient of a loop variable in an affine index.
#pragma once

#include <optional>
#include <vector>

#include "codegen/kernel.h"

namespace kiln::codegen {

using I128 = __int128;

// A conservative range [lo, hi] of an index expression; saturates at +-2^62 ("unknown").
struct Interval {
  static constexpr I128 kBig = I128{1} << 62;
  I128 lo, hi;
  bool fits() const { return lo > -kBig && hi < kBig; }
};

// The range of index node `n`, given the ranges of the nodes before it and of each loop variable.
Interval node_range(const IndexNode& n, const std::vector<Interval>& ranges, const std::vector<Interval>& var_ranges);

// The range of every index node of `k`, given the range of each loop variable.
std::vector<Interval> index_ranges(const Kernel& k, const std::vector<Interval>& var_ranges);

// Each loop variable's range: [0, extent - 1], a runtime extent taken as at most max_runtime.
std::vector<Interval> loop_ranges(const Kernel& k, int64_t max_runtime);

// The coefficient of `var` in index `id` when the index is affine in it (through Add, and Mul by a
// constant); 0 when it does not involve var; nullopt when not affine (FloorDiv or Mod of it) or
// beyond 2^40.
std::optional<int64_t> affine_coefficient(const Kernel& k, int id, int var);

// Per index node: whether it reads loop variable `var` at all.
std::vector<bool> depends_on(const Kernel& k, int var);

}  // namespace kiln::codegen
