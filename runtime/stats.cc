#include "runtime/stats.h"

namespace kiln::runtime {

Stats& stats() {
  static Stats s;
  return s;
}

}  // namespace kiln::runtime
