// Composite ops (softmax, log_softmax, mean, cross_entropy, ...) are recorded as the primitives
// they decompose into. A CompositeScope names them: every node built inside it carries the
// composite's name (the outermost scope's, so cross_entropy's log_softmax reads as
// cross_entropy), and dumps, grad_fn() and anomaly reports say `log_softmax` where they would
// otherwise show a handful of anonymous primitives. Per thread.
#pragma once

namespace kiln::ir {

// The name nodes built now are tagged with, or null.
const char* current_composite();

class CompositeScope {
 public:
  explicit CompositeScope(const char* name);  // a string literal: nodes keep the pointer
  ~CompositeScope();
  CompositeScope(const CompositeScope&) = delete;
  CompositeScope& operator=(const CompositeScope&) = delete;

 private:
  const char* previous_;
};

}  // namespace kiln::ir
