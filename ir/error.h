// kiln::Error: every user mistake is reported with the op, the offending shapes or values,
// and the user's file:line.
#pragma once

#include <source_location>
#include <stdexcept>
#include <string>
#include <type_traits>

namespace kiln {

// Where in the user's program a node was recorded. Captured at each public API call.
struct SourceLoc {
  const char* file = "";
  int line = 0;
  static SourceLoc from(const std::source_location& l) {
    return {l.file_name(), static_cast<int>(l.line())};
  }
  std::string str() const;  // "file.cc:12"
};

class Error : public std::runtime_error {
 public:
  Error(std::string op, std::string what, SourceLoc loc);
  const std::string& op() const { return op_; }
  const SourceLoc& loc() const { return loc_; }

 private:
  std::string op_;
  SourceLoc loc_;
};

// Throws Error("op: message (at file:line)") unless `ok`. `message` is a string or a callable
// returning one, so that recording a valid op never formats text.
template <typename Message>
void check(bool ok, const char* op, SourceLoc loc, Message&& message) {
  if (ok) [[likely]] return;
  if constexpr (std::is_invocable_v<Message>) throw Error(op, message(), loc);
  else throw Error(op, std::string(message), loc);
}

}  // namespace kiln
