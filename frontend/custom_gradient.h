// Gradient rules attached to values by the front end itself rather than derived from their ops:
// autograd::Function's user-written backward, and ops whose PyTorch gradient differs from their
// primitives' (max(dim) sends the gradient to the returned index only).
#pragma once

#include <functional>
#include <memory>
#include <vector>

#include "ir/node.h"

namespace kiln::detail {

// Makes each of `values` (computed with grad mode off) an alias node that takes its gradient from
// `rule`, with respect to rule->inputs; fills rule->outputs. Returns the aliases.
std::vector<ir::NodePtr> attach_gradient(const std::vector<ir::NodePtr>& values,
                                         const std::shared_ptr<ir::CustomGradient>& rule);

// A rule written as a function of the outputs' gradients.
struct FunctionGradient : ir::CustomGradient {
  std::function<std::vector<ir::NodePtr>(const std::vector<ir::NodePtr>&)> fn;
  std::vector<ir::NodePtr> backward(const std::vector<ir::NodePtr>& output_grads) const override {
    return fn(output_grads);
  }
};

}  // namespace kiln::detail
