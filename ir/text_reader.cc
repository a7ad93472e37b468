#include "ir/text_reader.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <mutex>
#include <set>

namespace kiln::ir {

ParseError::ParseError(const std::string& source, int line, int column, const std::string& message)
    : std::runtime_error(source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message),
      line_(line),
      column_(column) {}

const char* intern(const std::string& s) {
  static std::mutex mu;
  static std::set<std::string>* pool = new std::set<std::string>();
  std::lock_guard<std::mutex> lock(mu);
  return pool->insert(s).first->c_str();
}

std::optional<Op> op_named(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(Op::Transfer); ++i)
    if (op_name(static_cast<Op>(i)) == name) return static_cast<Op>(i);
  return std::nullopt;
}

namespace {
bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
}  // namespace

bool TextReader::next_line() {
  if (pos_ >= text_.size()) return false;
  size_t end = text_.find('\n', pos_);
  if (end == std::string_view::npos) end = text_.size();
  line_ = text_.substr(pos_, end - pos_);
  pos_ = end + 1;
  ++line_no_;
  col_ = 0;
  return true;
}

void TextReader::fail(const std::string& what) const {
  throw ParseError(source_, line_no_, static_cast<int>(col_) + 1, what);
}

std::string TextReader::found() const {
  if (col_ >= line_.size()) return "the end of the line";
  size_t n = 0;
  while (col_ + n < line_.size() && n < 12 && !std::isspace(static_cast<unsigned char>(line_[col_ + n]))) ++n;
  return "'" + std::string(line_.substr(col_, std::max<size_t>(n, 1))) + "'";
}

void TextReader::expected(const std::string& what) const { fail("expected " + what + ", found " + found()); }
void TextReader::skip_spaces() {
  while (col_ < line_.size() && (line_[col_] == ' ' || line_[col_] == '\t' || line_[col_] == '\r')) ++col_;
}

bool TextReader::accept(std::string_view s) {
  skip_spaces();
  if (!looking_at(s)) return false;
  col_ += s.size();
  return true;
}

void TextReader::expect(std::string_view s) {
  if (!accept(s)) expected("'" + std::string(s) + "'");
}

std::string TextReader::word() {
  skip_spaces();
  size_t start = col_;
  while (col_ < line_.size() && word_char(line_[col_])) ++col_;
  return std::string(line_.substr(start, col_ - start));
}

bool TextReader::accept_word(std::string_view w) {
  skip_spaces();
  size_t save = col_;
  if (word() == w) return true;
  col_ = save;
  return false;
}

void TextReader::end_of_line() {
  skip_spaces();
  if (!at_end_of_line() && !looking_at("//")) expected("the end of the line");
}

int64_t TextReader::integer() {
  skip_spaces();
  int64_t v = 0;
  auto [end, ec] = std::from_chars(line_.data() + col_, line_.data() + line_.size(), v);
  if (ec != std::errc() || end == line_.data() + col_) expected("an integer");
  col_ = static_cast<size_t>(end - line_.data());
  return v;
}

std::vector<int64_t> TextReader::integers(char open, char close) {
  expect(std::string(1, open));
  std::vector<int64_t> v;
  if (accept(std::string(1, close))) return v;
  do v.push_back(integer());
  while (accept(","));
  expect(std::string(1, close));
  return v;
}

Scalar TextReader::scalar() {
  skip_spaces();
  size_t start = col_;
  while (col_ < line_.size() && !std::strchr(",} \t", line_[col_])) ++col_;
  std::string s(line_.substr(start, col_ - start));
  if (s == "true" || s == "false") return Scalar(s == "true");
  if (s == "nan") return Scalar(std::nan(""));
  if (s == "inf" || s == "-inf") return Scalar(s[0] == '-' ? -HUGE_VAL : HUGE_VAL);
  const char* b = s.data();
  const char* e = s.data() + s.size();
  if (s.find_first_of(".eE") == std::string::npos) {
    int64_t v = 0;
    if (auto [end, ec] = std::from_chars(b, e, v); ec == std::errc() && end == e && !s.empty()) return Scalar(v);
  } else {
    double v = 0;
    if (auto [end, ec] = std::from_chars(b, e, v); ec == std::errc() && end == e) return Scalar(v);
  }
  col_ = start;
  expected("a value (true, false, an integer, a number, nan, inf)");
}

ScalarType TextReader::dtype() {
  skip_spaces();
  size_t start = col_;
  std::string name;
  while (col_ < line_.size() && std::isalnum(static_cast<unsigned char>(line_[col_]))) name += line_[col_++];
  for (ScalarType t : kAllDtypes)
    if (dtype_short_name(t) == name) return t;
  col_ = start;
  expected("a dtype (i1, u8, i8, i16, i32, i64, f16, bf16, f32, f64)");
}

SourceLoc TextReader::location() {
  expect("loc(");
  size_t start = col_, close = line_.find(')', col_);
  if (close == std::string_view::npos) expected("file:line)");
  std::string_view loc = line_.substr(start, close - start);
  size_t colon = loc.rfind(':');
  int line_number = 0;
  if (colon == std::string_view::npos ||
      std::from_chars(loc.data() + colon + 1, loc.data() + loc.size(), line_number).ec != std::errc())
    expected("a location file:line");
  col_ = close + 1;
  return SourceLoc{intern(std::string(loc.substr(0, colon))), line_number};
}

}  // namespace kiln::ir
