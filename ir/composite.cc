#include "ir/composite.h"

namespace kiln::ir {

namespace {
thread_local const char* t_composite = nullptr;
}  // namespace

const char* current_composite() { return t_composite; }

CompositeScope::CompositeScope(const char* name) : previous_(t_composite) {
  if (!t_composite) t_composite = name;
}

CompositeScope::~CompositeScope() { t_composite = previous_; }

}  // namespace kiln::ir
