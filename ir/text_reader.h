// Reading Kiln's line-oriented text formats: the cursor, tokens and errors the graph parser
// (ir/parser.h) and the kernel-IR parser (codegen/kernel_parser.h) share. Every error is a
// ParseError naming the source, line and column and what was expected there.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "ir/dtype.h"
#include "ir/error.h"
#include "ir/op.h"
#include "ir/scalar.h"

namespace kiln::ir {

class ParseError : public std::runtime_error {
 public:
  ParseError(const std::string& source, int line, int column, const std::string& message);
  int line() const { return line_; }
  int column() const { return column_; }

 private:
  int line_, column_;
};

// Nodes keep `const char*` file names and composite names (normally string literals): parsed
// ones live in this process-wide pool.
const char* intern(const std::string& s);

// The op whose textual name (ir::op_name) is `name`.
std::optional<Op> op_named(std::string_view name);

class TextReader {
 protected:
  TextReader(std::string_view text, std::string source) : text_(text), source_(std::move(source)) {}

  // --- lines and characters ---
  bool next_line();  // false at the end of the text
  [[noreturn]] void fail(const std::string& what) const;
  [[noreturn]] void expected(const std::string& what) const;  // "expected WHAT, found 'TOKEN'"
  void skip_spaces();
  bool at_end_of_line() const { return col_ >= line_.size(); }
  bool looking_at(std::string_view s) const { return line_.substr(col_, s.size()) == s; }
  bool accept(std::string_view s);  // after spaces
  void expect(std::string_view s);
  std::string word();  // letters, digits and '_' (may be empty)
  bool accept_word(std::string_view w);
  void end_of_line();  // only spaces or a comment may follow

  // --- tokens ---
  int64_t integer();
  std::vector<int64_t> integers(char open, char close);  // "[1, 2]"
  Scalar scalar();    // true, false, an integer, a number, nan, inf
  ScalarType dtype(); // i1, u8, i8, i16, i32, i64, f16, bf16, f32, f64
  SourceLoc location();  // "loc(file:line)", the file name interned

  std::string_view text_;
  std::string source_;
  size_t pos_ = 0;          // the next line's start in text_
  std::string_view line_;   // the current line
  int line_no_ = 0;
  size_t col_ = 0;

 private:
  std::string found() const;
};

}  // namespace kiln::ir
