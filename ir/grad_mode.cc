#include "ir/grad_mode.h"

namespace kiln::ir {

namespace {
thread_local bool g_grad_mode = true;
}

bool grad_mode_enabled() { return g_grad_mode; }
void set_grad_mode(bool enabled) { g_grad_mode = enabled; }

}  // namespace kiln::ir
