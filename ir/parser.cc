#include "ir/parser.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <set>

#include "ir/composite.h"
#include "ir/ops.h"
#include "ir/printer.h"

namespace kiln::ir {

ParseError::ParseError(const std::string& source, int line, int column, const std::string& message)
    : std::runtime_error(source + ":" + std::to_string(line) + ":" + std::to_string(column) + ": " + message),
      line_(line),
      column_(column) {}

namespace {

// The bytes a tensor of `shape` takes, or -1 for a negative size or 2^62 bytes and more (a
// corrupted dump must not overflow numel()).
int64_t bytes_of(const Shape& shape, ScalarType dtype) {
  int64_t bytes = static_cast<int64_t>(element_size(dtype));
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(bytes, d, &bytes) || bytes >= (int64_t{1} << 62)) return -1;
  return bytes;
}

// Nodes keep `const char*` file names and composite names (normally string literals): parsed
// ones live in this process-wide pool.
const char* intern(const std::string& s) {
  static std::mutex mu;
  static std::set<std::string>* pool = new std::set<std::string>();
  std::lock_guard<std::mutex> lock(mu);
  return pool->insert(s).first->c_str();
}

std::optional<ScalarType> dtype_named(std::string_view name) {
  for (ScalarType t : {kBool, kUInt8, kInt8, kInt16, kInt32, kInt64, kFloat32, kFloat64})
    if (dtype_short_name(t) == name) return t;
  return std::nullopt;
}

std::optional<Op> op_named(std::string_view name) {
  for (int i = 0; i <= static_cast<int>(Op::Transfer); ++i)
    if (op_name(static_cast<Op>(i)) == name) return static_cast<Op>(i);
  return std::nullopt;
}

// Everything a node line says, before the node is built.
struct Line {
  std::string id;
  Op op;
  std::vector<NodePtr> inputs;
  Attrs attrs;
  std::set<std::string> given;  // attribute names present
  std::optional<Scalar> buffer_value;
  std::optional<Device> device;
  ScalarType dtype;
  Shape shape;
  SourceLoc loc;
  const char* composite = nullptr;
};

class Parser {
 public:
  Parser(std::string_view text, std::string source, int64_t max_buffer_bytes)
      : text_(text), source_(std::move(source)), buffer_bytes_left_(max_buffer_bytes) {}

  ParsedGraph run() {
    ParsedGraph g;
    bool returned = false;
    while (next_line()) {
      skip_spaces();
      if (at_end_of_line() || looking_at("//")) continue;
      if (returned) fail("expected nothing after the `return` line");
      if (accept_word("return")) {
        g.outputs = operands();
        end_of_line();
        returned = true;
        continue;
      }
      NodePtr n = node_line();
      if (n->is_buffer() && !n->runtime_scalar) g.inputs.push_back(n);
    }
    if (!returned) {
      line_no_ = std::max(line_no_, 1);
      col_ = 0;
      line_ = "";
      fail("expected a `return` line at the end");
    }
    return g;
  }

 private:
  // --- lines and characters ---
  bool next_line() {
    if (pos_ >= text_.size()) return false;
    size_t end = text_.find('\n', pos_);
    if (end == std::string_view::npos) end = text_.size();
    line_ = text_.substr(pos_, end - pos_);
    pos_ = end + 1;
    ++line_no_;
    col_ = 0;
    return true;
  }
  [[noreturn]] void fail(const std::string& what) const {
    throw ParseError(source_, line_no_, static_cast<int>(col_) + 1, what);
  }
  std::string found() const {
    if (col_ >= line_.size()) return "the end of the line";
    size_t n = 0;
    while (col_ + n < line_.size() && n < 12 && !std::isspace(static_cast<unsigned char>(line_[col_ + n]))) ++n;
    return "'" + std::string(line_.substr(col_, std::max<size_t>(n, 1))) + "'";
  }
  [[noreturn]] void expected(const std::string& what) const { fail("expected " + what + ", found " + found()); }
  void skip_spaces() {
    while (col_ < line_.size() && (line_[col_] == ' ' || line_[col_] == '\t' || line_[col_] == '\r')) ++col_;
  }
  bool at_end_of_line() const { return col_ >= line_.size(); }
  bool looking_at(std::string_view s) const { return line_.substr(col_, s.size()) == s; }
  bool accept(std::string_view s) {
    skip_spaces();
    if (!looking_at(s)) return false;
    col_ += s.size();
    return true;
  }
  void expect(std::string_view s) {
    if (!accept(s)) expected("'" + std::string(s) + "'");
  }
  static bool word_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; }
  std::string word() {
    skip_spaces();
    size_t start = col_;
    while (col_ < line_.size() && word_char(line_[col_])) ++col_;
    return std::string(line_.substr(start, col_ - start));
  }
  bool accept_word(std::string_view w) {
    skip_spaces();
    size_t save = col_;
    if (word() == w) return true;
    col_ = save;
    return false;
  }
  void end_of_line() {
    skip_spaces();
    if (!at_end_of_line() && !looking_at("//")) expected("the end of the line");
  }

  // --- tokens ---
  int64_t integer() {
    skip_spaces();
    int64_t v = 0;
    auto [end, ec] = std::from_chars(line_.data() + col_, line_.data() + line_.size(), v);
    if (ec != std::errc() || end == line_.data() + col_) expected("an integer");
    col_ = static_cast<size_t>(end - line_.data());
    return v;
  }
  std::vector<int64_t> integers(char open, char close) {
    expect(std::string(1, open));
    std::vector<int64_t> v;
    if (accept(std::string(1, close))) return v;
    do v.push_back(integer());
    while (accept(","));
    expect(std::string(1, close));
    return v;
  }
  Scalar scalar() {
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
  NodePtr operand() {
    skip_spaces();
    if (!looking_at("%")) expected("an operand (%N)");
    ++col_;
    size_t start = col_;
    std::string name = word();
    if (name.empty()) {
      col_ = start;
      expected("a value number after '%'");
    }
    auto it = values_.find(name);
    if (it == values_.end()) {
      col_ = start;
      fail("%" + name + " is not defined above");
    }
    return it->second;
  }
  std::vector<NodePtr> operands() {
    std::vector<NodePtr> v;
    skip_spaces();
    if (!looking_at("%")) return v;
    do v.push_back(operand());
    while (accept(","));
    return v;
  }
  Device device() {
    std::string kind = word();
    int index = -1;
    if (kind != "cpu" && kind != "cuda") expected("a device (cpu, cuda, cuda:N)");
    if (accept(":")) index = static_cast<int>(integer());
    return Device(kind == "cpu" ? kCPU : kCUDA, index);
  }

  void attribute(Line& l) {
    size_t at = col_;
    std::string name = word();
    if (name.empty()) expected("an attribute name");
    if (!l.given.insert(name).second) {
      col_ = at;
      fail("attribute " + name + " given twice");
    }
    expect("=");
    if (name == "axes") l.attrs.axes = integers('[', ']');
    else if (name == "low") l.attrs.low = integers('[', ']');
    else if (name == "high") l.attrs.high = integers('[', ']');
    else if (name == "step") l.attrs.step = integers('[', ']');
    else if (name == "interior") l.attrs.interior = integers('[', ']');
    else if (name == "value") l.buffer_value = l.attrs.value = scalar();
    else if (name == "delta") l.attrs.delta = scalar();
    else if (name == "seed") l.attrs.seed = static_cast<uint64_t>(integer());
    else if (name == "offset") l.attrs.offset = static_cast<uint64_t>(integer());
    else if (name == "device") l.device = device();
    else if (name == "distribution") {
      std::string d = word();
      if (d != "uniform" && d != "normal") expected("uniform or normal");
      l.attrs.distribution = d == "normal" ? Distribution::Normal : Distribution::Uniform;
    } else {
      col_ = at;
      fail("unknown attribute " + name);
    }
  }

  // %N = op %a, %b {attrs} : dtype[shape]  loc(file:line)  // in composite
  NodePtr node_line() {
    Line l;
    size_t id_col = col_;
    if (!accept("%")) expected("a node line (%N = ...), `return`, or a comment");
    l.id = word();
    if (l.id.empty()) expected("a value number after '%'");
    if (values_.count(l.id)) {
      col_ = id_col;
      fail("%" + l.id + " is defined twice");
    }
    expect("=");
    size_t op_col = col_;
    skip_spaces();
    op_col = col_;
    std::optional<Op> op = op_named(word());
    if (!op) {
      col_ = op_col;
      expected("an op name");
    }
    l.op = *op;
    l.inputs = operands();
    if (accept("{")) {
      do attribute(l);
      while (accept(","));
      expect("}");
    }
    expect(":");
    skip_spaces();
    size_t type_col = col_;
    std::string type;
    while (col_ < line_.size() && std::isalnum(static_cast<unsigned char>(line_[col_]))) type += line_[col_++];
    std::optional<ScalarType> dtype = dtype_named(type);
    if (!dtype) {
      col_ = type_col;
      expected("a dtype (i1, u8, i8, i16, i32, i64, f32, f64)");
    }
    l.dtype = *dtype;
    size_t shape_col = col_;
    l.shape = integers('[', ']');
    if (bytes_of(l.shape, l.dtype) < 0) {
      col_ = shape_col;
      expected("sizes >= 0 with fewer than 2^62 bytes in all");
    }
    expect("loc(");
    size_t loc_start = col_, close = line_.find(')', col_);
    if (close == std::string_view::npos) expected("file:line)");
    std::string_view loc = line_.substr(loc_start, close - loc_start);
    size_t colon = loc.rfind(':');
    int line_number = 0;
    if (colon == std::string_view::npos ||
        std::from_chars(loc.data() + colon + 1, loc.data() + loc.size(), line_number).ec != std::errc())
      expected("a location file:line");
    l.loc = SourceLoc{intern(std::string(loc.substr(0, colon))), line_number};
    col_ = close + 1;
    skip_spaces();
    if (accept("//")) {
      skip_spaces();
      if (accept_word("in")) {
        std::string name = word();
        if (!name.empty()) l.composite = intern(name);
      }
      col_ = line_.size();
    }
    end_of_line();
    col_ = op_col;  // errors of the op itself point at its name
    NodePtr n = build(l);
    if (n->dtype != l.dtype || n->shape != l.shape)
      fail(std::string(op_name(l.op)) + " gives " + std::string(dtype_short_name(n->dtype)) + shape_str(n->shape) +
           ", but the line declares " + std::string(dtype_short_name(l.dtype)) + shape_str(l.shape));
    values_[l.id] = n;
    return n;
  }

  void arity(const Line& l, size_t n) {
    if (l.inputs.size() != n)
      fail(std::string(op_name(l.op)) + " takes " + std::to_string(n) + " operand(s), got " +
           std::to_string(l.inputs.size()));
  }

  // The node through its op's builder; the builder's own checks (kiln::Error) become parse
  // errors at the op.
  NodePtr build(const Line& l) {
    CompositeScope scope(l.composite);
    Device device = l.device.value_or(Device());
    try {
      switch (op_kind(l.op)) {
        case OpKind::Source: {
          arity(l, 0);
          switch (l.op) {
            case Op::Buffer: {
              if (l.buffer_value) return scalar_buffer(*l.buffer_value, l.shape.size(), l.dtype, l.loc, device);
              int64_t bytes = bytes_of(l.shape, l.dtype);
              if (bytes > buffer_bytes_left_) fail("the buffers need more than the " + std::to_string(buffer_bytes_left_) + " bytes left to them");
              buffer_bytes_left_ -= bytes;
              auto storage = Storage::allocate(static_cast<size_t>(bytes));
              if (storage->bytes()) std::memset(storage->data(), 0, storage->bytes());
              return buffer(std::move(storage), l.shape, l.dtype, l.loc, device);
            }
            case Op::Full: return full(l.attrs.value, l.shape, l.dtype, l.loc, device);
            case Op::Iota: return iota(l.attrs.value, l.attrs.delta, l.shape, l.dtype, l.loc, device);
            default:
              return random(l.attrs.distribution, l.attrs.seed, l.attrs.offset, l.shape, l.dtype, l.loc, device);
          }
        }
        case OpKind::Unary: arity(l, 1); return unary(l.op, l.inputs[0], l.loc);
        case OpKind::Binary:
        case OpKind::Compare: arity(l, 2); return binary(l.op, l.inputs[0], l.inputs[1], l.loc);
        case OpKind::Select: arity(l, 3); return where(l.inputs[0], l.inputs[1], l.inputs[2], l.loc);
        case OpKind::Cast: arity(l, 1); return cast(l.inputs[0], l.dtype, l.loc);
        case OpKind::Reduce: arity(l, 1); return reduce(l.op, l.inputs[0], l.attrs.axes, l.loc);
        case OpKind::Contraction: arity(l, 2); return matmul(l.inputs[0], l.inputs[1], l.loc);
        case OpKind::Transfer:
          arity(l, 1);
          if (!l.device) fail("transfer needs a device attribute");
          return transfer(l.inputs[0], *l.device, l.loc);
        case OpKind::Movement: return movement(l);
      }
    } catch (const Error& e) {
      fail(e.what());
    }
    fail("unsupported op");
  }

  NodePtr movement(const Line& l) {
    if (l.op == Op::Concat) {
      if (l.inputs.empty() || l.attrs.axes.size() != 1) fail("concat takes operands and axes=[axis]");
      return concat(l.inputs, l.attrs.axes[0], l.loc);
    }
    arity(l, 1);
    const NodePtr& x = l.inputs[0];
    switch (l.op) {
      case Op::Reshape: return reshape(x, l.shape, l.loc);
      case Op::Permute: return permute(x, l.attrs.axes, l.loc);
      case Op::Expand: return expand(x, l.shape, l.loc);
      case Op::Slice: {
        // The stops are not printed: the declared shape gives them.
        if (l.attrs.low.size() != l.shape.size() || l.attrs.step.size() != l.shape.size())
          fail("slice needs low and step for each axis");
        std::vector<int64_t> stops(l.shape.size());
        for (size_t k = 0; k < stops.size(); ++k)
          stops[k] = l.shape[k] == 0 ? l.attrs.low[k] : l.attrs.low[k] + (l.shape[k] - 1) * l.attrs.step[k] + 1;
        return slice(x, l.attrs.low, stops, l.attrs.step, l.loc);
      }
      case Op::Pad: return pad(x, l.attrs.low, l.attrs.high, l.attrs.interior, l.attrs.value, l.loc);
      default: fail("unsupported movement op");
    }
  }

  std::string_view text_;
  std::string source_;
  int64_t buffer_bytes_left_;  // what buffers may still allocate (parse_graph's limit)
  size_t pos_ = 0;
  std::string_view line_;
  int line_no_ = 0;
  size_t col_ = 0;
  std::map<std::string, NodePtr> values_;
};

}  // namespace

ParsedGraph parse_graph(std::string_view text, const std::string& source, int64_t max_buffer_bytes) {
  return Parser(text, source, max_buffer_bytes).run();
}

}  // namespace kiln::ir
