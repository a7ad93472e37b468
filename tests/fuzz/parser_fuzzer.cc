// libFuzzer target for the textual IR's parser (ir/parser.h), built with clang-19's
// -fsanitize=fuzzer,address,undefined by tests/fuzz/run_fuzzer.sh. Any bytes either parse or
// raise ParseError; what parses prints to text that parses again to the same text (the round
// trip the parser promises). Anything else (a crash, a sanitizer report, another exception, a
// round trip that changes the text) is a finding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ir/parser.h"
#include "ir/printer.h"

namespace {

std::string print(const std::vector<kiln::ir::NodePtr>& outputs) {
  std::vector<const kiln::ir::Node*> roots;
  for (const kiln::ir::NodePtr& n : outputs) roots.push_back(n.get());
  return kiln::ir::print_graph(roots);
}

constexpr int64_t kMaxBufferBytes = int64_t{1} << 24;  // what one input may make the parser allocate

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string printed;
  try {
    printed = print(kiln::ir::parse_graph(text, "fuzz", kMaxBufferBytes).outputs);
  } catch (const kiln::ir::ParseError&) {
    return 0;
  }
  std::string again;
  try {
    again = print(kiln::ir::parse_graph(printed, "printed", kMaxBufferBytes).outputs);
  } catch (const kiln::ir::ParseError& e) {
    std::fprintf(stderr, "printed text does not parse: %s\n%s", e.what(), printed.c_str());
    std::abort();
  }
  if (again != printed) {
    std::fprintf(stderr, "print -> parse -> print changed the text:\n%s\n---\n%s", printed.c_str(), again.c_str());
    std::abort();
  }
  return 0;
}
