// Common-subexpression elimination by hash-consing: one canonical node per structure.
#pragma once

#include <cstddef>
#include <unordered_set>
#include <vector>

#include "ir/node.h"

namespace kiln::passes {

// Two nodes are equal when they have the same op, dtype, shape and attributes (scalars compared
// bit for bit) and identical input nodes, so equal nodes compute equal values: every primitive is
// a pure function of these (random of its seed and offset). A buffer is equal only to itself: two
// buffers may hold the same values now, but a user may write to either through data_ptr.
class CseTable {
 public:
  // The canonical node structurally equal to `n`: the first one interned, or `n` itself.
  ir::NodePtr intern(const ir::NodePtr& n);

 private:
  struct Hash {
    size_t operator()(const ir::NodePtr& n) const;
  };
  struct Equal {
    bool operator()(const ir::NodePtr& a, const ir::NodePtr& b) const;
  };
  std::unordered_set<ir::NodePtr, Hash, Equal> nodes_;
};

// CSE alone (simplify() runs it with its other rewrites): the outputs with structurally equal
// nodes merged, the first in topological order kept. Nodes whose inputs change are copies; the
// input graph is not modified.
std::vector<ir::NodePtr> eliminate_common_subexpressions(const std::vector<ir::NodePtr>& outputs);

}  // namespace kiln::passes
