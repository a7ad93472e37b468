// The local rewrite rules simplify() applies to each node, and the helpers they share. Each rule
// looks at one node whose inputs are already simplified and returns its replacement (an existing
// node or a new one, with the replaced node's location), or null when it does not apply.
#pragma once

#include "ir/node.h"

namespace kiln::passes {

// Rules that evaluate at compile time: ops over `full` constants become one `full`.
ir::NodePtr fold_constants(const ir::NodePtr& n);

// Rules that drop or merge ops without evaluating anything: x * 1, neg(neg x), reshape chains, ...
ir::NodePtr apply_identities(const ir::NodePtr& n);

// Moves reshapes toward the outputs: an elementwise op over reshape(x) (and constants) becomes a
// reshape of the op over x. Fusion then sees the op at x's shape, where it can fuse with x's own
// kernel (a reduction's scalar result, say), and a reshape left at an output costs no kernel.
ir::NodePtr sink_reshape(const ir::NodePtr& n);

// Scalars equal bit for bit in their category: 0.0 and -0.0 differ (1 / x tells them apart), two
// NaNs with the same bits are the same. Scalar::operator== is IEEE equality, which gets both wrong.
bool same_scalar(const Scalar& a, const Scalar& b);

// The value of a `full` node, or null for any other node.
const Scalar* full_value(const ir::Node& n);

// The runtime scalar (Node::runtime_scalar) that `n` is, or broadcasts through
// reshapes and expands; null for any other node.
const ir::NodePtr* runtime_scalar(const ir::NodePtr& n);

}  // namespace kiln::passes
