// Reference semantics of each primitive, one function per op family. Every input is a contiguous
// row-major array of its node's shape; `out` has room for the node's result.
#pragma once

#include <vector>

#include "ir/node.h"

namespace kiln::runtime::reference {

using Inputs = std::vector<const void*>;

// Computes node `n` from its inputs' values (dispatches to the functions below).
void run_node(const ir::Node& n, const Inputs& in, void* out);

void run_source(const ir::Node& n, void* out);
void run_elementwise(const ir::Node& n, const Inputs& in, void* out);  // unary, binary, compare, where, cast
void run_reduce(const ir::Node& n, const Inputs& in, void* out);
void run_movement(const ir::Node& n, const Inputs& in, void* out);
void run_matmul(const ir::Node& n, const Inputs& in, void* out);

}  // namespace kiln::runtime::reference
