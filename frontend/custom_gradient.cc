#include "frontend/custom_gradient.h"

#include "ir/grad_mode.h"
#include "ir/ops.h"

namespace kiln::detail {

std::vector<ir::NodePtr> attach_gradient(const std::vector<ir::NodePtr>& values,
                                         const std::shared_ptr<ir::CustomGradient>& rule) {
  std::vector<ir::NodePtr> aliases;
  ir::GradModeGuard no_grad(false);
  for (const ir::NodePtr& v : values) {
    ir::NodePtr alias = ir::alias(v, v->loc);
    alias->grad = ir::Grad::Derived;
    alias->custom_gradient = rule;
    rule->outputs.push_back(alias.get());
    aliases.push_back(std::move(alias));
  }
  return aliases;
}

}  // namespace kiln::detail
