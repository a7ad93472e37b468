// A random graph and its gradient as one graph: the differentiable RandomGraph of `seed` summed,
// and d(sum)/d(input) appended by autodiff, for tests that check backward graphs as graphs
// (round trips, exports). Empty when the input gets no gradient.
#pragma once

#include <vector>

#include "ir/ops.h"
#include "kiln/kiln.h"
#include "passes/autodiff.h"
#include "tests/random_graph.h"

namespace kiln::testing {

// {sum of the graph, its gradient with respect to the input}, or {}.
inline std::vector<ir::NodePtr> random_backward_graph(uint32_t seed) {
  RandomGraph graph(seed, /*differentiable=*/true);
  Tensor x = randn(graph.input_shape(), dtype(kFloat64)).requires_grad_();
  Tensor y = graph.build(x).sum();
  std::vector<ir::NodePtr> gradient_graph = passes::gradient_graph({y.node()}, {});
  ir::NodePtr one = ir::full(Scalar(1.0), y.node()->shape, y.node()->dtype, {});
  std::vector<ir::NodePtr> grads = passes::differentiate(gradient_graph, {y.node()}, {one}, {x.node()});
  if (!grads[0]) return {};
  return {y.node(), grads[0]};
}

}  // namespace kiln::testing
