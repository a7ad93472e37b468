#include "frontend/anomaly.h"

#include <cmath>
#include <unordered_set>
#include <vector>

#include "frontend/evaluate.h"
#include "runtime/backend.h"
#include "kiln/autograd.h"

namespace kiln {

namespace {
thread_local bool t_anomaly_mode = false;
}  // namespace

namespace autograd {
bool AnomalyMode::is_enabled() { return t_anomaly_mode; }
void AnomalyMode::set_enabled(bool enabled) { t_anomaly_mode = enabled; }
}  // namespace autograd

namespace detail {

namespace {

// The transform's nodes behind `grads`, inputs before users.
std::vector<ir::NodePtr> built_nodes(const std::vector<ir::NodePtr>& grads,
                                     const std::unordered_map<const ir::Node*, const ir::Node*>& origins) {
  std::vector<ir::NodePtr> order;
  std::unordered_set<const ir::Node*> seen;
  std::vector<std::pair<ir::NodePtr, size_t>> stack;
  for (const ir::NodePtr& g : grads) {
    if (!g || !seen.insert(g.get()).second) continue;
    stack.push_back({g, 0});
    while (!stack.empty()) {
      auto& [n, next] = stack.back();
      if (next < n->inputs.size()) {
        ir::NodePtr in = n->inputs[next++];
        if (origins.count(in.get()) && seen.insert(in.get()).second) stack.push_back({in, 0});
        continue;
      }
      if (origins.count(n.get())) order.push_back(n);
      stack.pop_back();
    }
  }
  return order;
}

bool has_nonfinite(const ir::Node& n) {
  if (!is_floating(n.dtype) || !n.storage) return false;
  std::vector<char> host;  // a GPU's values, copied to the host to be read
  const void* data = n.storage->data();
  if (n.storage->device_memory()) {
    host.resize(static_cast<size_t>(n.numel()) * element_size(n.dtype));
    runtime::backend_for(n.device).copy_to_host(host.data(), data, host.size());
    data = host.data();
  }
  return dispatch_dtype(n.dtype, [&]<typename T>() {
    if constexpr (std::is_floating_point_v<compute_t<T>>) {
      const T* v = static_cast<const T*>(data);
      for (int64_t i = 0; i < n.numel(); ++i)
        if (!std::isfinite(static_cast<compute_t<T>>(v[i]))) return true;
    }
    return false;
  });
}

}  // namespace

void check_gradient_anomalies(const std::vector<ir::NodePtr>& grads,
                              const std::unordered_map<const ir::Node*, const ir::Node*>& origins) {
  std::vector<ir::NodePtr> nodes = built_nodes(grads, origins);
  std::vector<const ir::Node*> forward;
  for (const ir::NodePtr& n : nodes) forward.push_back(origins.at(n.get()));
  evaluate(nodes, /*with_pending_updates=*/false);  // each one a buffer: slow, as anomaly mode is
  for (size_t i = 0; i < nodes.size(); ++i) {
    if (!has_nonfinite(*nodes[i])) continue;
    const ir::Node& f = *forward[i];
    throw Error(std::string(ir::op_name(f.op)),
                "the gradient of this op (" + std::string(dtype_name(f.dtype)) + shape_str(f.shape) +
                    ") holds nan or inf values, computed by its backward " + std::string(ir::op_name(nodes[i]->op)) +
                    " (detected by DetectAnomalyGuard)",
                f.loc);
  }
}

}  // namespace detail
}  // namespace kiln
