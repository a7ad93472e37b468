#include "ir/error.h"

namespace kiln {

std::string SourceLoc::str() const { return std::string(file) + ":" + std::to_string(line); }

Error::Error(std::string op, std::string what, SourceLoc loc)
    : std::runtime_error(op + ": " + what + " (at " + loc.str() + ")"), op_(std::move(op)), loc_(loc) {}

}  // namespace kiln
