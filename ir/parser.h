// Reads the textual IR that ir/printer.h writes back into a graph, so that a dump can be replayed
// (tools/kiln-opt) and print -> parse -> print gives the same text.
//
// Each node is rebuilt through its op's builder (ir/ops.h), so a line whose operands do not fit
// its op, or whose declared type differs from what the op gives, is an error, as is any text
// that is not the format. Errors name the line and column and what was expected; a parse never
// crashes and builds nothing on failure. Buffers other than runtime scalars read as zeros (the
// text does not hold their values): inputs() lists them, for a caller to fill. Comments of the
// form `// in NAME` restore the composite op a node belongs to; other comments, blank lines
// and the header lines of dumps (`// graph0: ...`) are skipped.
#pragma once

#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ir/node.h"
#include "ir/text_reader.h"  // ParseError

namespace kiln::ir {

struct ParsedGraph {
  std::vector<NodePtr> outputs;  // the `return` line's values, in order
  std::vector<NodePtr> inputs;   // buffers that are not runtime scalars, in order of definition
};

// `source` names the text in errors ("step.ir:3:14: expected ..."). Input buffers together may
// take at most `max_buffer_bytes` (more is an error at the line that asks for it): a fuzzer, or
// a tool reading untrusted dumps, bounds what a few bytes of text can allocate.
ParsedGraph parse_graph(std::string_view text, const std::string& source = "<input>",
                        int64_t max_buffer_bytes = std::numeric_limits<int64_t>::max());

}  // namespace kiln::ir
