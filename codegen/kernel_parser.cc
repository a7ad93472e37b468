#include "codegen/kernel_parser.h"

#include <algorithm>
#include <map>
#include <tuple>

namespace kiln::codegen {

namespace {

// Index expressions nest through parentheses; deeper text is an error, not a deep recursion.
constexpr int kMaxIndexDepth = 200;

class KernelParser : ir::TextReader {
 public:
  KernelParser(std::string_view text, std::string source) : TextReader(text, std::move(source)) {}

  std::vector<Kernel> run() {
    std::vector<Kernel> kernels;
    while (next_line()) {
      if (blank_or_comment()) continue;
      if (!accept_word("kernel")) expected("'kernel NAME(...)'");
      kernels.push_back(kernel());
    }
    return kernels;
  }

 private:
  // What the body of a kernel holds, in the order print_kernel writes it.
  enum Section { Values, Reductions, InnerStores, OuterStores };

  bool blank_or_comment() {
    skip_spaces();
    return at_end_of_line() || looking_at("//");
  }
  size_t indent() const {
    size_t n = 0;
    while (n < line_.size() && line_[n] == ' ') ++n;
    return n;
  }

  // "a3", "v12", "acc0", "i2": the number after `prefix`.
  int numbered(std::string_view prefix, const char* what) {
    skip_spaces();
    size_t start = col_;
    std::string w = word();
    if (w.size() <= prefix.size() || w.compare(0, prefix.size(), prefix) != 0 ||
        !std::all_of(w.begin() + prefix.size(), w.end(), [](char c) { return c >= '0' && c <= '9'; }) ||
        w.size() - prefix.size() > 9) {
      col_ = start;
      expected(what);
    }
    return std::stoi(w.substr(prefix.size()));
  }

  Kernel kernel() {
    k_ = Kernel{};
    index_ids_.clear();
    var_limits_.clear();
    k_.name = word();
    if (k_.name.empty()) expected("a kernel name");
    expect("(");
    if (!accept(")")) {
      do k_.args.push_back(argument());
      while (accept(","));
      expect(")");
    }
    end_of_line();
    if (!next_body_line()) expected("'outer [...]  inner [...]'");
    if (!accept_word("outer")) expected("'outer'");
    k_.outer = extents(0);
    if (!accept_word("inner")) expected("'inner'");
    k_.inner = extents(k_.outer.size());
    end_of_line();
    Section section = Values;
    while (next_body_line()) {
      size_t spaces = indent();
      if (looking_at("v")) {
        if (section > Values) fail("values come before the reductions and stores");
        value_line();
      } else if (looking_at("acc")) {
        if (section > Reductions) fail("reductions come before the inner and outer stores");
        section = Reductions;
        reduction_line();
      } else if (accept_word("stores")) {
        if (section != Reductions || spaces != 4) fail("a reduction's stores follow it, indented by 4");
        k_.reductions.back().stores.push_back(store(/*outer=*/false));
      } else if (accept("for inner:")) {
        if (section > Reductions) fail("one 'for inner:' comes before the outer stores");
        section = InnerStores;
        end_of_line();
      } else if (spaces == 4 && section == InnerStores) {
        k_.inner_stores.push_back(store(/*outer=*/false));
      } else {
        section = OuterStores;
        k_.outer_stores.push_back(store(/*outer=*/true));
      }
    }
    check_accumulators();
    return std::move(k_);
  }

  // The next line of the current kernel's body (indented), or false at its end.
  bool next_body_line() {
    while (true) {
      size_t pos = pos_;
      int line_no = line_no_;
      std::string_view line = line_;
      if (!next_line()) return false;
      if (blank_or_comment()) continue;
      if (indent() >= 2) {
        col_ = indent();
        return true;
      }
      pos_ = pos, line_no_ = line_no, line_ = line;  // the next kernel's line: read it again
      return false;
    }
  }

  // "out a2: f32[N*10]", "value a1: f32[1]"
  Arg argument() {
    Arg a{};
    a.output = accept_word("out");
    a.by_value = !a.output && accept_word("value");
    if (numbered("a", "an argument aN") != static_cast<int>(k_.args.size()))
      fail("arguments are numbered a0, a1, ... in order");
    expect(":");
    a.dtype = dtype();
    expect("[");
    skip_spaces();
    if (accept("N*")) a.scaled = true;
    if (a.by_value && a.scaled) fail("a value argument has no runtime extent");
    a.numel = integer();
    if (a.numel < 0) fail("an argument's size is not negative");
    expect("]");
    return a;
  }

  // "[N, 64]"; loop variables are numbered from `first`.
  Shape extents(size_t first) {
    expect("[");
    Shape s;
    if (!accept("]")) {
      do {
        skip_spaces();
        if (accept("N")) {
          if (k_.runtime_var >= 0) fail("one extent at most is the runtime extent N");
          k_.runtime_var = static_cast<int>(first + s.size());
          s.push_back(kRuntimeExtent);
        } else {
          s.push_back(integer());
          if (s.back() < 0) fail("extents are not negative");
        }
      } while (accept(","));
      expect("]");
    }
    return s;
  }

  // --- index expressions: term := factor ('*' factor)*; factor := iN | integer | (term op term) ---

  int index_node(IndexNode n, int var_limit) {
    auto key = std::make_tuple(n.kind, n.value, n.a, n.b);
    auto [it, fresh] = index_ids_.emplace(key, static_cast<int>(k_.indices.size()));
    if (fresh) {
      k_.indices.push_back(n);
      var_limits_.push_back(var_limit);
    }
    return it->second;
  }
  int index_expr(int depth = 0) {
    if (depth > kMaxIndexDepth) fail("index expression nested too deeply");
    int x = factor(depth);
    while (accept("*")) {
      int y = factor(depth);
      x = index_node({IndexNode::Mul, 0, x, y}, std::max(var_limits_[x], var_limits_[y]));
    }
    return x;
  }
  int factor(int depth) {
    skip_spaces();
    if (accept("(")) {
      int a = index_expr(depth + 1);
      IndexNode::Kind kind = accept("+") ? IndexNode::Add : accept("/") ? IndexNode::FloorDiv
                           : accept("%") ? IndexNode::Mod : (expected("'+', '/' or '%'"), IndexNode::Add);
      int b = index_expr(depth + 1);
      expect(")");
      return index_node({kind, 0, a, b}, std::max(var_limits_[a], var_limits_[b]));
    }
    if (looking_at("i")) {
      size_t at = col_;
      int var = numbered("i", "a loop variable iN");
      if (var >= static_cast<int>(k_.outer.size() + k_.inner.size())) {
        col_ = at;
        fail("i" + std::to_string(var) + " is not a loop variable (the kernel has " +
             std::to_string(k_.outer.size() + k_.inner.size()) + ")");
      }
      return index_node({IndexNode::Var, var}, var + 1);
    }
    return index_node({IndexNode::Const, integer()}, 0);
  }
  // "[expr]"
  int bracketed_index() {
    expect("[");
    int i = index_expr();
    expect("]");
    return i;
  }

  // --- values ---

  // Errors about an id point at it.
  int value_id() {
    skip_spaces();
    size_t at = col_;
    int v = numbered("v", "a value vN");
    if (v >= static_cast<int>(k_.values.size())) col_ = at, fail("v" + std::to_string(v) + " is not defined above");
    return v;
  }
  int arg_id(bool output) {
    skip_spaces();
    size_t at = col_;
    int a = numbered("a", "an argument aN");
    if (a >= static_cast<int>(k_.args.size())) col_ = at, fail("a" + std::to_string(a) + " is not an argument");
    if (output && !k_.args[a].output) col_ = at, fail("a" + std::to_string(a) + " is not an output");
    return a;
  }

  void value_line() {
    if (numbered("v", "a value vN") != static_cast<int>(k_.values.size())) fail("values are numbered v0, v1, ... in order");
    expect("=");
    skip_spaces();
    size_t op_col = col_;
    ValueNode v{};
    std::string w = word();
    if (w == "load") {
      v.kind = ValueNode::Load;
      v.arg = arg_id(false);
      v.index = bracketed_index();
    } else if (w == "const") {
      v.kind = ValueNode::Constant;
      v.constant = scalar();
    } else if (w == "index") {
      v.kind = ValueNode::IndexValue;
      v.index = index_expr();
    } else if (w == "in_range") {
      v.kind = ValueNode::InRange;
      v.lo = integer();
      expect("<=");
      v.index = index_expr();
      expect("<");
      v.hi = integer();
    } else if (w == "philox_normal" || w == "philox_uniform") {
      v.kind = ValueNode::Random;
      v.distribution = w == "philox_normal" ? ir::Distribution::Normal : ir::Distribution::Uniform;
      v.arg = arg_id(false);
      if (!accept_word("at")) expected("'at'");
      v.index = index_expr();
    } else if (w.compare(0, 3, "acc") == 0) {
      col_ = op_col;
      v.kind = ValueNode::Accumulator;
      v.reduction = numbered("acc", "an accumulator accN");
    } else {
      std::optional<ir::Op> op = ir::op_named(w);
      if (!op || !elementwise(*op)) {
        col_ = op_col;
        expected("a value (load, const, index, in_range, philox_normal, philox_uniform, accN or an elementwise op)");
      }
      v.kind = ValueNode::Elementwise;
      v.op = *op;
      do v.operands.push_back(value_id());
      while (accept(","));
    }
    expect(":");
    v.dtype = dtype();
    skip_spaces();
    SourceLoc loc = looking_at("loc(") ? location() : SourceLoc{};
    end_of_line();
    col_ = op_col;  // type errors point at the value
    check_value(v);
    k_.values.push_back(std::move(v));
    k_.locs.push_back(loc);
  }

  static bool elementwise(ir::Op op) {
    ir::OpKind kind = ir::op_kind(op);
    return kind == ir::OpKind::Unary || kind == ir::OpKind::Binary || kind == ir::OpKind::Compare ||
           kind == ir::OpKind::Select || kind == ir::OpKind::Cast;
  }

  std::string type_of(int v) const { return std::string(dtype_short_name(k_.values[v].dtype)); }

  void check_value(const ValueNode& v) {
    auto want = [&](bool ok, const std::string& what) {
      if (!ok) fail(what);
    };
    std::string declared(dtype_short_name(v.dtype));
    switch (v.kind) {
      case ValueNode::Load:
        want(v.dtype == k_.args[v.arg].dtype, "a load of a" + std::to_string(v.arg) + " has its type " +
                                                  std::string(dtype_short_name(k_.args[v.arg].dtype)));
        break;
      case ValueNode::InRange: want(v.dtype == kBool, "in_range gives i1"); break;
      case ValueNode::Random: want(is_floating(v.dtype), "philox values are floating"); break;
      case ValueNode::Elementwise: {
        ir::OpKind kind = ir::op_kind(v.op);
        size_t arity = kind == ir::OpKind::Select ? 3 : kind == ir::OpKind::Binary || kind == ir::OpKind::Compare ? 2 : 1;
        want(v.operands.size() == arity, std::string(ir::op_name(v.op)) + " takes " + std::to_string(arity) +
                                             " operand(s), got " + std::to_string(v.operands.size()));
        const std::vector<int>& o = v.operands;
        if (kind == ir::OpKind::Compare) {
          want(v.dtype == kBool, "a comparison gives i1");
          want(k_.values[o[0]].dtype == k_.values[o[1]].dtype, "compared values have one type");
        } else if (kind == ir::OpKind::Select) {
          want(k_.values[o[0]].dtype == kBool, "where's condition is i1");
          want(k_.values[o[1]].dtype == v.dtype && k_.values[o[2]].dtype == v.dtype,
               "where's operands have its type " + declared);
        } else if (kind != ir::OpKind::Cast) {
          for (int x : o) want(k_.values[x].dtype == v.dtype, "v" + std::to_string(x) + " is " + type_of(x) + ", not " + declared);
        }
        break;
      }
      default: break;
    }
  }

  // "acc0 = reduce_max over inner of v5 [at INDEX]"
  void reduction_line() {
    if (numbered("acc", "an accumulator accN") != static_cast<int>(k_.reductions.size()))
      fail("reductions are numbered acc0, acc1, ... in order");
    expect("=");
    skip_spaces();
    size_t op_col = col_;
    std::optional<ir::Op> op = ir::op_named(word());
    if (!op || ir::op_kind(*op) != ir::OpKind::Reduce) {
      col_ = op_col;
      expected("a reduction (reduce_sum, reduce_max, reduce_min, reduce_prod, argmax, argmin)");
    }
    if (!accept_word("over") || !accept_word("inner") || !accept_word("of")) expected("'over inner of'");
    Reduction r{*op, kBool, value_id()};
    r.dtype = k_.values[r.value].dtype;
    if (ir::is_arg_reduction(r.op)) {
      if (!accept_word("at")) expected("'at' and the position's index");
      r.position = index_expr();
    }
    end_of_line();
    k_.reductions.push_back(std::move(r));
  }

  // "a2[INDEX] = v6"
  Store store(bool outer) {
    skip_spaces();
    Store s{};
    s.arg = arg_id(/*output=*/true);
    size_t index_col = col_;
    s.index = bracketed_index();
    if (outer && var_limits_[s.index] > static_cast<int>(k_.outer.size())) {
      col_ = index_col;
      fail("an outer store's index uses outer loop variables only");
    }
    expect("=");
    s.value = value_id();
    if (k_.values[s.value].dtype != k_.args[s.arg].dtype)
      fail("v" + std::to_string(s.value) + " is " + type_of(s.value) + ", a" + std::to_string(s.arg) + " holds " +
           std::string(dtype_short_name(k_.args[s.arg].dtype)));
    end_of_line();
    return s;
  }

  // Accumulators are read before their reduction's line: checked once the kernel is read.
  void check_accumulators() {
    for (size_t i = 0; i < k_.values.size(); ++i) {
      const ValueNode& v = k_.values[i];
      if (v.kind != ValueNode::Accumulator) continue;
      std::string name = "v" + std::to_string(i) + " = acc" + std::to_string(v.reduction);
      if (v.reduction >= static_cast<int>(k_.reductions.size())) fail(name + ": no such reduction in " + k_.name);
      if (v.dtype != accumulator_dtype(k_.reductions[v.reduction]))
        fail(name + " reads as " + std::string(dtype_short_name(accumulator_dtype(k_.reductions[v.reduction]))));
    }
  }

  Kernel k_;
  std::map<std::tuple<int, int64_t, int, int>, int> index_ids_;  // equal subtrees, one node
  std::vector<int> var_limits_;  // per index node: 1 + the highest loop variable it reads (0: none)
};

}  // namespace

std::vector<Kernel> parse_kernels(std::string_view text, const std::string& source) {
  return KernelParser(text, source).run();
}

}  // namespace kiln::codegen
