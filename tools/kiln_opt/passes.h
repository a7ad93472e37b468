// kiln-opt's passes, each registered once: the flags, their order in --help and what
// --print-after accepts all come from this list.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "tools/kiln_opt/module.h"

namespace kiln::tools {

struct Pass {
  std::string name;  // the flag is --name
  std::string help;
  std::function<void(Module&, bool fuse)> run;
};

const std::vector<Pass>& all_passes();

}  // namespace kiln::tools
