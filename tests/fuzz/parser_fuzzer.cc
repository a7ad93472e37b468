// libFuzzer target for Kiln's two text formats, the graph IR (ir/parser.h) and the kernel IR
// (codegen/kernel_parser.h), built with clang-19's -fsanitize=fuzzer,address,undefined by
// tests/fuzz/run_fuzzer.sh. Each input goes to both parsers. Any bytes either parse or raise
// ParseError; what parses prints to text that parses again to the same text (the round trip the
// parsers promise). Anything else (a crash, a sanitizer report, another exception, a round trip
// that changes the text) is a finding.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "codegen/kernel_parser.h"
#include "ir/parser.h"
#include "ir/printer.h"

namespace {

std::string print(const std::vector<kiln::ir::NodePtr>& outputs) {
  std::vector<const kiln::ir::Node*> roots;
  for (const kiln::ir::NodePtr& n : outputs) roots.push_back(n.get());
  return kiln::ir::print_graph(roots);
}

std::string print(const std::vector<kiln::codegen::Kernel>& kernels) {
  std::string text;
  for (const kiln::codegen::Kernel& k : kernels) text += kiln::codegen::print_kernel(k);
  return text;
}

// print(parse(text)) for both formats: a ParseError of the original text ends the check (0), any
// failure on the printed text aborts.
template <typename Parse>
void check_round_trip(std::string_view text, Parse parse) {
  std::string printed;
  try {
    printed = print(parse(text, "fuzz"));
  } catch (const kiln::ir::ParseError&) {
    return;
  }
  std::string again;
  try {
    again = print(parse(printed, "printed"));
  } catch (const kiln::ir::ParseError& e) {
    std::fprintf(stderr, "printed text does not parse: %s\n%s", e.what(), printed.c_str());
    std::abort();
  }
  if (again != printed) {
    std::fprintf(stderr, "print -> parse -> print changed the text:\n%s\n---\n%s", printed.c_str(), again.c_str());
    std::abort();
  }
}

constexpr int64_t kMaxBufferBytes = int64_t{1} << 24;  // what one input may make the parser allocate

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  check_round_trip(text, [](std::string_view t, const std::string& source) {
    return kiln::ir::parse_graph(t, source, kMaxBufferBytes).outputs;
  });
  check_round_trip(text, [](std::string_view t, const std::string& source) { return kiln::codegen::parse_kernels(t, source); });
  return 0;
}
