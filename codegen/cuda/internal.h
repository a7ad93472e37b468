// Shared by the CUDA C renderer's files: C spellings of dtypes, constants and the kernel IR's
// scalar operations (ops.cc), and the preamble of device helpers every kernel starts with
// (preamble.cc). Expressions are strings of CUDA C; operands come in already parenthesized.
#pragma once

#include <string>
#include <vector>

#include "codegen/cuda/render.h"
#include "codegen/kernel.h"

namespace kiln::codegen::cuda {

// Scalar `s` as a literal of type `t`.
std::string literal(const Scalar& s, ScalarType t);

// `x` (of type `from`) converted to `to`, as ir::convert: to bool tests for non-zero.
std::string convert(const std::string& x, ScalarType from, ScalarType to);

// An elementwise op (unary, binary, compare, where, cast) on operands of the given types, giving
// `result`; the semantics of ir/semantics.h, as codegen/cpu/ops.cc.
std::string elementwise(ir::Op op, ScalarType result, const std::vector<std::string>& x,
                        const std::vector<ScalarType>& types);

// A reduction's identity and how a value folds into it (ir::reduction_identity, _combine).
std::string reduction_identity(ir::Op op, ScalarType t);
std::string reduction_combine(ir::Op op, ScalarType t, const std::string& acc, const std::string& v);

// Whether argmax/argmin's candidate v replaces the extreme `best` (ir::arg_replaces).
std::string arg_replaces(ir::Op op, ScalarType t, const std::string& v, const std::string& best);

// Device helpers every kernel's source starts with: floor division, NaN-propagating max/min,
// integer pow, warp shuffles of every dtype, Philox4x32-10.
extern const char* const kPreamble;

}  // namespace kiln::codegen::cuda
