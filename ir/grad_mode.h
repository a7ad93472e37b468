// Grad mode: whether nodes built now record that they depend on a variable (autograd's
// requires_grad). Per thread, as torch's GradMode; kiln::NoGradGuard turns it off in a scope.
#pragma once

namespace kiln::ir {

bool grad_mode_enabled();
void set_grad_mode(bool enabled);

// Sets grad mode for a scope and restores the previous mode on exit.
class GradModeGuard {
 public:
  explicit GradModeGuard(bool enabled) : previous_(grad_mode_enabled()) { set_grad_mode(enabled); }
  ~GradModeGuard() { set_grad_mode(previous_); }
  GradModeGuard(const GradModeGuard&) = delete;
  GradModeGuard& operator=(const GradModeGuard&) = delete;

 private:
  bool previous_;
};

}  // namespace kiln::ir
