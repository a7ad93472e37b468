// Which tensor's .grad() receives a node's gradient: the leaf tensors that require grad (their
// Variable nodes) and the tensors that called retain_grad(). Keyed by node; an entry counts only
// while the tensor is alive and still holds that node.
#pragma once

#include <memory>

#include "frontend/tensor_impl.h"

namespace kiln::detail {

void register_grad_sink(const ir::Node* node, const std::shared_ptr<TensorImpl>& tensor);
std::shared_ptr<TensorImpl> grad_sink(const ir::Node* node);

}  // namespace kiln::detail
