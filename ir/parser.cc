#include "ir/parser.h"

#include <cctype>
#include <charconv>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include "ir/composite.h"
#include "ir/ops.h"
#include "ir/printer.h"
#include "ir/text_reader.h"

namespace kiln::ir {

namespace {

// The bytes a tensor of `shape` takes, or -1 for a negative size or 2^62 bytes and more (a
// corrupted dump must not overflow numel()).
int64_t bytes_of(const Shape& shape, ScalarType dtype) {
  int64_t bytes = static_cast<int64_t>(element_size(dtype));
  for (int64_t d : shape)
    if (d < 0 || __builtin_mul_overflow(bytes, d, &bytes) || bytes >= (int64_t{1} << 62)) return -1;
  return bytes;
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

class Parser : TextReader {
 public:
  Parser(std::string_view text, std::string source, int64_t max_buffer_bytes)
      : TextReader(text, std::move(source)), buffer_bytes_left_(max_buffer_bytes) {}

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
    l.dtype = dtype();
    size_t shape_col = col_;
    l.shape = integers('[', ']');
    if (bytes_of(l.shape, l.dtype) < 0) {
      col_ = shape_col;
      expected("sizes >= 0 with fewer than 2^62 bytes in all");
    }
    l.loc = location();
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

  int64_t buffer_bytes_left_;  // what buffers may still allocate (parse_graph's limit)
  std::map<std::string, NodePtr> values_;
};

}  // namespace

ParsedGraph parse_graph(std::string_view text, const std::string& source, int64_t max_buffer_bytes) {
  return Parser(text, source, max_buffer_bytes).run();
}

}  // namespace kiln::ir
