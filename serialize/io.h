// The bytes of a checkpoint to and from a Destination or Source: atomic file writes, stream
// writes, whole-file reads; errors name the file.
#pragma once

#include <string>

#include "kiln/serialize.h"

namespace kiln::serialize {

[[noreturn]] void fail(const char* op, const std::string& where, const std::string& what, SourceLoc loc);

// To a path: a temporary file in the same directory, fsync, rename (never a damaged file under
// the real name). To a stream: written as is.
void write_bytes(const Destination& to, const std::string& bytes, SourceLoc loc);
std::string read_bytes(const Source& from, SourceLoc loc);

// The tensor's elements, row-major, as little-endian bytes (this machine is little-endian), read
// without handing out its address (which would make later in-place updates run one by one).
std::string tensor_bytes(const Tensor& t);

}  // namespace kiln::serialize
