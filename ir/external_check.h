// The checking mode for memory the user holds (KILN_CHECK_EXTERNAL=1, or set_external_checks):
// Kiln reads from_blob memory when a graph is evaluated, not when it is recorded, so memory the
// user changes or frees in between would silently give other numbers than LibTorch's eager
// evaluation. In this mode a fingerprint of each borrowed buffer is taken when the first pending
// graph reads it and compared when a graph reading it is evaluated; a difference raises
// kiln::Error naming the from_blob call's line and the line that recorded the read.
#pragma once

#include <vector>

#include "ir/node.h"

namespace kiln::ir {

bool external_checks_enabled();
void set_external_checks(bool enabled);

// At recording: `reader` (being built at `loc`) reads buffer `input`.
void note_external_read(const Node& input, SourceLoc loc);
// At evaluation, before anything runs: every borrowed buffer in `order` holds what it held when
// it was first read (throws kiln::Error otherwise). Returns their storages.
std::vector<std::shared_ptr<Storage>> check_external_reads(const std::vector<const Node*>& order);
// After evaluation, or after Kiln itself wrote the memory: no recorded read is pending on
// `storages` (the next read takes a new fingerprint).
void forget_external_reads(const std::vector<std::shared_ptr<Storage>>& storages);

}  // namespace kiln::ir
