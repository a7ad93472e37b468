#include "ir/error.h"

namespace kiln {

std::string SourceLoc::str() const { return std::string(file) + ":" + std::to_string(line); }

// An error with no user line (one the runtime raises: out of device memory) says none.
Error::Error(std::string op, std::string what, SourceLoc loc)
    : std::runtime_error(op + ": " + what + (loc.line > 0 ? " (at " + loc.str() + ")" : "")),
      op_(std::move(op)),
      loc_(loc) {}

}  // namespace kiln
