// Anomaly detection (autograd::DetectAnomalyGuard): when a gradient turns NaN or infinite, the
// error names the forward op whose gradient rule produced it and the user's line that recorded
// that op, which a lazily fused backward would otherwise hide.
#pragma once

#include <unordered_map>
#include <vector>

#include "ir/node.h"

namespace kiln::detail {

// Evaluates every node of the gradients `grads` that the transform built (the keys of
// `origins`, each mapped to the forward node whose rule built it) and throws kiln::Error at the
// first one, in evaluation order, holding a NaN or infinity.
void check_gradient_anomalies(const std::vector<ir::NodePtr>& grads,
                              const std::unordered_map<const ir::Node*, const ir::Node*>& origins);

}  // namespace kiln::detail
