// kiln-opt --reduce=TEST: minimizes a graph while a check still fails, as llvm-reduce does. TEST
// is a shell command run with a candidate graph's file appended; exit status 0 means the
// candidate is still "interesting" (shows the problem). docs/DEBUGGING.md has an example.
#pragma once

#include <ostream>
#include <string>

#include "tools/kiln_opt/module.h"

namespace kiln::tools {

// Greedily, until no candidate stays interesting: drops outputs, replaces a node by an input
// buffer of its type (deleting what computed it), and bypasses a node for an operand of its
// type. Returns the smallest interesting graph's text; progress goes to `log`. Throws
// std::runtime_error when `m` itself is not interesting.
std::string reduce(const Module& m, const std::string& test, std::ostream& log);

}  // namespace kiln::tools
