#include "frontend/autograd_registry.h"

#include <mutex>
#include <unordered_map>

namespace kiln::detail {

namespace {

struct Registry {
  std::mutex mutex;
  std::unordered_map<const ir::Node*, std::weak_ptr<TensorImpl>> sinks;
  size_t prune_at = 64;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

void register_grad_sink(const ir::Node* node, const std::shared_ptr<TensorImpl>& tensor) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  r.sinks[node] = tensor;
  // Drop entries of dead tensors whenever the table doubles, so it stays proportional to the
  // live ones at amortized O(1) cost.
  if (r.sinks.size() >= r.prune_at) {
    std::erase_if(r.sinks, [](const auto& entry) { return entry.second.expired(); });
    r.prune_at = 2 * r.sinks.size() + 64;
  }
}

std::shared_ptr<TensorImpl> grad_sink(const ir::Node* node) {
  Registry& r = registry();
  std::lock_guard lock(r.mutex);
  auto it = r.sinks.find(node);
  if (it == r.sinks.end()) return nullptr;
  std::shared_ptr<TensorImpl> tensor = it->second.lock();
  return tensor && tensor->node_.get() == node ? tensor : nullptr;
}

}  // namespace kiln::detail
