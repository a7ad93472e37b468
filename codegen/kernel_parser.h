// Reads the kernel IR's text (codegen::print_kernel, the KILN_DUMP=kernels and
// `kiln-opt --emit=kernels` format) back into Kernels, so a dumped kernel can be compiled again
// on its own (kiln-opt reads `.kernel.txt` files) and print -> parse -> print gives the same text.
//
// The text is checked as it is read: ids are defined before use and numbered in order, operands
// fit their op and dtypes agree (a load has its argument's type, a comparison gives i1, ...),
// loop variables exist (outer stores use only outer ones), stores write outputs, argmax and
// argmin name their position, and at most one extent is the runtime extent N. So a parsed kernel
// is one the code generators accept. Errors are ir::ParseError (line, column, what was
// expected); nothing crashes on any input. Index expressions print as trees: equal subtrees are
// read as one index node. Lines starting with `//` (kiln-opt's extern and alias notes) and blank
// lines are skipped.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "codegen/kernel.h"
#include "ir/text_reader.h"  // ParseError

namespace kiln::codegen {

std::vector<Kernel> parse_kernels(std::string_view text, const std::string& source = "<input>");

}  // namespace kiln::codegen
