// Kernel IR -> CUDA C (render.h). Values and index nodes become `const` locals, declared in the
// innermost block that needs them and reused by the blocks inside it; ops.cc spells each
// operation, preamble.cc holds the helpers they call.
#include "codegen/cuda/render.h"

#include <algorithm>
#include <cinttypes>
#include <optional>
#include <stdexcept>
#include <unordered_set>

#include "codegen/cuda/internal.h"
#include "codegen/index_range.h"
#include "codegen/runtime_extent.h"

namespace kiln::codegen::cuda {

namespace {

constexpr int kBlockThreads = 256;
constexpr int kWarp = 32;
// __launch_bounds__'s minimum resident blocks: with 256 threads, at most 128 registers a thread.
// (Without a minimum, ptxas squeezed a float64 exp to 40 registers and spilled.)
constexpr int kMinBlocksPerSm = 2;

class Renderer {
 public:
  explicit Renderer(const Kernel& k) : k_(k) {}

  KernelSource run() {
    if (std::string problem = runtime_extent_problem(k_); !problem.empty())
      throw std::invalid_argument("cuda backend: " + problem);
    range_ = index_ranges(k_, loop_ranges(k_, kMaxRuntimeExtent));
    residual_ = residual_ranges(k_);
    bool blocks = !k_.reductions.empty() || !k_.inner.empty();
    int threads = blocks ? block_threads() : kBlockThreads;
    code_ = kPreamble;
    signature(threads);
    open("");
    value_arguments();
    line("const long long kiln_points = " + product(0, k_.outer.size()) + ";");
    if (blocks) block_per_point_body();
    else thread_per_point_body();
    close();
    return {k_.name, code_, threads, blocks};
  }

 private:
  // --- text ---
  void line(const std::string& s) { code_ += std::string(2 * depth_, ' ') + s + "\n"; }
  void open(const std::string& head) {
    line(head.empty() ? "{" : head + " {");
    ++depth_;
    scopes_.emplace_back();
  }
  void close() {
    scopes_.pop_back();
    --depth_;
    line("}");
  }
  bool declared(const std::string& name) const {
    return std::any_of(scopes_.begin(), scopes_.end(), [&](const auto& s) { return s.count(name) > 0; });
  }
  // Declares `name` in the current block unless an enclosing block has.
  const std::string& declare(const std::string& name, const std::string& type, const std::string& expr) {
    if (!declared(name)) {
      line("const " + type + " " + name + " = " + expr + ";");
      scopes_.back().insert(name);
    }
    return name;
  }

  static std::string var(size_t v) { return "i" + std::to_string(v); }
  static std::string int_literal(int64_t v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%" PRId64 "LL", v);
    return v < 0 ? "(" + std::string(buf) + ")" : buf;
  }
  std::string extent(size_t v) const {
    int64_t e = v < k_.outer.size() ? k_.outer[v] : k_.inner[v - k_.outer.size()];
    return e == kRuntimeExtent ? "kiln_extent" : int_literal(e);
  }
  // The number of points of loop variables [first, last).
  std::string product(size_t first, size_t last) const {
    std::string p;
    for (size_t v = first; v < last; ++v) p += (p.empty() ? "" : " * ") + extent(v);
    return p.empty() ? "1LL" : p;
  }

  // One pointer per argument, a value argument's elements by value (KilnValues), then the
  // runtime extent.
  void signature(int threads) {
    std::string params;
    for (size_t a = 0; a < k_.args.size(); ++a) {
      const Arg& arg = k_.args[a];
      std::string name = "a" + std::to_string(a);
      params += arg.by_value ? "const KilnValues<" + c_type(arg.dtype) + ", " + std::to_string(arg.numel) + "> " +
                                   name + "_value, "
                             : (arg.output ? "" : "const ") + c_type(arg.dtype) + "* __restrict__ " + name + ", ";
    }
    code_ += "extern \"C\" __global__ void __launch_bounds__(" + std::to_string(threads) + ", " +
             std::to_string(kMinBlocksPerSm) + ") " + k_.name + "(" +
             params + "long long kiln_extent)\n";
  }

  // A value argument is read as the other arguments are, through a pointer (to its parameter).
  void value_arguments() {
    for (size_t a = 0; a < k_.args.size(); ++a)
      if (k_.args[a].by_value) {
        std::string name = "a" + std::to_string(a);
        line("const " + c_type(k_.args[a].dtype) + "* const " + name + " = " + name + "_value.v;");
      }
  }

  // Loop variables [first, first + n) from the flat position `flat` (row-major).
  void split(const std::string& flat, size_t first, size_t n) {
    if (n == 0) return;
    std::string rest = flat;
    for (size_t v = first + n - 1; v > first; --v) {
      line("const long long " + var(v) + " = " + rest + " % " + extent(v) + ";");
      line("const long long " + var(v) + "_rest = " + rest + " / " + extent(v) + ";");
      rest = var(v) + "_rest";
    }
    line("const long long " + var(first) + " = " + rest + ";");
  }

  // --- kernel bodies ---
  // A grid-stride loop over the points. Arguments read and written at the point itself (float32,
  // int32) move 4 points at a time through 128-bit loads and stores when all of them are 16-byte
  // aligned (a sliced batch may not be); the points past the last whole group, or every point
  // when misaligned, take the scalar loop.
  void thread_per_point_body() {
    std::vector<int> vectors = vector_arguments();
    if (vectors.empty()) return scalar_points("");
    std::string addresses;
    for (int a : vectors) addresses += (addresses.empty() ? "" : " | ") + std::string("(unsigned long long)a") + std::to_string(a);
    line("const bool kiln_aligned = ((" + addresses + ") & 15ULL) == 0;");
    open("if (kiln_aligned)");
    open("for (long long g = (long long)blockIdx.x * blockDim.x + threadIdx.x; g < kiln_points / 4; "
         "g += (long long)gridDim.x * blockDim.x)");
    for (int a : vectors) {
      std::string name = "a" + std::to_string(a), type = vector_type(k_.args[a].dtype);
      if (k_.args[a].output) line(type + " " + name + "_v;");
      else line("const " + type + " " + name + "_v = reinterpret_cast<const " + type + "*>(" + name + ")[g];");
    }
    for (lane_ = 0; lane_ < kLanes; ++lane_) {
      open("");
      line("const long long p = 4 * g + " + std::to_string(lane_) + ";");
      split("p", 0, k_.outer.size());
      for (const Store& s : k_.outer_stores) store(s);
      close();
    }
    lane_ = -1;
    for (int a : vectors)
      if (k_.args[a].output) {
        std::string name = "a" + std::to_string(a);
        line("reinterpret_cast<" + vector_type(k_.args[a].dtype) + "*>(" + name + ")[g] = " + name + "_v;");
      }
    close();
    close();
    scalar_points("kiln_aligned ? kiln_points / 4 * 4 : 0LL");
  }

  // The points from `first` (an expression; empty for 0) on, one a thread.
  void scalar_points(const std::string& first) {
    std::string start = first.empty() ? "" : "(" + first + ") + ";
    open("for (long long p = " + start + "(long long)blockIdx.x * blockDim.x + threadIdx.x; p < kiln_points; "
         "p += (long long)gridDim.x * blockDim.x)");
    split("p", 0, k_.outer.size());
    for (const Store& s : k_.outer_stores) store(s);
    close();
  }

  static constexpr int kLanes = 4;  // 128 bits of 4-byte elements
  static std::string vector_type(ScalarType t) { return t == kFloat32 ? "float4" : "int4"; }

  // The arguments of an elementwise kernel that are 4-byte values read or written only at the
  // point itself (row-major over the outer space); they become vector loads and stores.
  std::vector<int> vector_arguments() {
    vector_args_.assign(k_.args.size(), false);
    if (!k_.reductions.empty() || !k_.inner.empty() || k_.outer.empty() || k_.runtime_var > 0) return {};
    std::vector<bool> candidate(k_.args.size()), accessed(k_.args.size(), false);
    for (size_t a = 0; a < k_.args.size(); ++a)
      candidate[a] = !k_.args[a].by_value && (k_.args[a].dtype == kFloat32 || k_.args[a].dtype == kInt32);
    auto access = [&](int arg, int index) {
      accessed[static_cast<size_t>(arg)] = true;
      if (!at_the_point(index)) candidate[static_cast<size_t>(arg)] = false;
    };
    for (const ValueNode& v : k_.values)
      if (v.kind == ValueNode::Load) {
        access(v.arg, v.index);
        // A load the scalar path guards (the first operand of a concat, read at the point but
        // shorter than the output) must not become a vector read past its argument's end.
        if (!inside(v)) candidate[static_cast<size_t>(v.arg)] = false;
      }
    for (const Store& st : k_.outer_stores) access(st.arg, st.index);
    std::vector<int> out;
    for (size_t a = 0; a < k_.args.size(); ++a)
      if (candidate[a] && accessed[a]) out.push_back(static_cast<int>(a)), vector_args_[a] = true;
    return out;
  }

  // Whether index `id` is the flat row-major position of the outer point.
  bool at_the_point(int id) const {
    if (range_[id].lo != 0) return false;  // an affine index's least value is its constant term
    int64_t stride = 1;
    for (size_t v = k_.outer.size(); v-- > 0;) {
      std::optional<int64_t> c = affine_coefficient(k_, id, static_cast<int>(v));
      if (!c || *c != stride) return false;
      if (v > 0) stride *= k_.outer[v];
    }
    return true;
  }

  int block_threads() const {
    int64_t inner = 1;
    for (int64_t e : k_.inner) {
      if (e == kRuntimeExtent) return kBlockThreads;
      inner *= e;
    }
    return static_cast<int>(std::clamp<int64_t>((inner + kWarp - 1) / kWarp * kWarp, kWarp, kBlockThreads));
  }

  void block_per_point_body() {
    size_t rank = k_.outer.size(), inner = k_.inner.size();
    for (size_t r = 0; r < k_.reductions.size(); ++r) {
      const Reduction& red = k_.reductions[r];
      line("__shared__ " + c_type(compute_dtype(red.dtype)) + " kiln_partial" + std::to_string(r) + "[" +
           std::to_string(kWarp) + "];");
      if (ir::is_arg_reduction(red.op))
        line("__shared__ long long kiln_position" + std::to_string(r) + "[" + std::to_string(kWarp) + "];");
    }
    line("const long long kiln_inner = " + product(rank, rank + inner) + ";");
    open("for (long long p = blockIdx.x; p < kiln_points; p += gridDim.x)");
    split("p", 0, rank);
    for (size_t r = 0; r < k_.reductions.size(); ++r) {
      const Reduction& red = k_.reductions[r];
      // Accumulators are in compute_dtype: float16 and bfloat16 sum in float32, rounded once.
      ScalarType t = compute_dtype(red.dtype);
      line(c_type(t) + " acc" + std::to_string(r) + " = " + reduction_identity(red.op, t) + ";");
      if (ir::is_arg_reduction(red.op)) line("long long position" + std::to_string(r) + " = 0;");
    }
    for (auto [start, stop] : codegen::reduction_groups(k_)) {
      inner_loop([&] {
        for (size_t r = start; r < stop; ++r) fold(r);
      });
      for (size_t r = start; r < stop; ++r) combine_block(r);
    }
    if (!k_.inner_stores.empty())
      inner_loop([&] {
        for (const Store& s : k_.inner_stores) store(s);
      });
    if (!k_.outer_stores.empty()) {
      open("if (threadIdx.x == 0)");
      for (const Store& s : k_.outer_stores) store(s);
      close();
    }
    close();
  }

  // The block's threads over the inner points, each thread on every blockDim.x-th.
  template <typename Body> void inner_loop(Body body) {
    open("for (long long q = threadIdx.x; q < kiln_inner; q += blockDim.x)");
    split("q", k_.outer.size(), k_.inner.size());
    body();
    close();
  }

  void fold(size_t r) {
    const Reduction& red = k_.reductions[r];
    for (const Store& s : red.stores) store(s);
    std::string acc = "acc" + std::to_string(r);
    ScalarType t = compute_dtype(red.dtype);
    std::string v = convert(convert(value(red.value), k_.values[red.value].dtype, red.dtype), red.dtype, t);
    if (!ir::is_arg_reduction(red.op)) {
      line(acc + " = " + reduction_combine(red.op, t, acc, v) + ";");
      return;
    }
    open("if (" + arg_replaces(red.op, t, v, acc) + ")");
    line(acc + " = " + v + ";");
    line("position" + std::to_string(r) + " = " + index(red.position) + ";");
    close();
  }

  // Combines the threads' partial results of reduction r: shuffles within each warp, the warps'
  // results through shared memory, then every thread reads the block's result.
  void combine_block(size_t r) {
    const Reduction& red = k_.reductions[r];
    ScalarType t = compute_dtype(red.dtype);
    std::string n = std::to_string(r), acc = "acc" + n, partial = "kiln_partial" + n, type = c_type(t);
    bool arg = ir::is_arg_reduction(red.op);
    std::string position = "position" + n, positions = "kiln_position" + n;
    // Every lane shuffles; a lane combines when its partner is a thread of the block (always on a
    // GPU, where blocks are whole warps; not in a one-thread emulation of the block).
    auto warp_combine = [&] {
      open("for (int o = " + std::to_string(kWarp / 2) + "; o > 0; o >>= 1)");
      line("const " + type + " other = kiln_shfl_down(" + acc + ", o);");
      if (arg) line("const long long other_position = kiln_shfl_down(" + position + ", o);");
      open("if ((threadIdx.x & " + std::to_string(kWarp - 1) + ") + o < blockDim.x)");
      if (!arg) {
        line(acc + " = " + reduction_combine(red.op, t, acc, "other") + ";");
      } else {
        // The other lane's extreme replaces ours if beyond it, or equal (both NaN) and earlier.
        std::string equal = is_floating(t)
                                ? "(other == " + acc + " || (isnan(other) && isnan(" + acc + ")))"
                                : "(other == " + acc + ")";
        open("if (" + arg_replaces(red.op, t, "other", acc) + " || (" + equal + " && other_position < " +
             position + "))");
        line(acc + " = other;");
        line(position + " = other_position;");
        close();
      }
      close();
      close();
    };
    warp_combine();
    open("if ((threadIdx.x & " + std::to_string(kWarp - 1) + ") == 0)");
    line(partial + "[threadIdx.x / " + std::to_string(kWarp) + "] = " + acc + ";");
    if (arg) line(positions + "[threadIdx.x / " + std::to_string(kWarp) + "] = " + position + ";");
    close();
    line("__syncthreads();");
    open("if (threadIdx.x < " + std::to_string(kWarp) + ")");
    line("const bool has = threadIdx.x < (blockDim.x + " + std::to_string(kWarp - 1) + ") / " + std::to_string(kWarp) +
         ";");
    line(acc + " = has ? " + partial + "[threadIdx.x] : " + reduction_identity(red.op, t) + ";");
    if (arg) line(position + " = has ? " + positions + "[threadIdx.x] : 0;");
    warp_combine();
    open("if (threadIdx.x == 0)");
    line(partial + "[0] = " + acc + ";");
    if (arg) line(positions + "[0] = " + position + ";");
    close();
    close();
    line("__syncthreads();");
    line(acc + " = " + partial + "[0];");
    if (arg) line(position + " = " + positions + "[0];");
    line("__syncthreads();  // before the next point's threads write the partial results again");
  }

  // --- index arithmetic and values ---
  std::string index(int id) {
    const IndexNode& n = k_.indices[id];
    switch (n.kind) {
      case IndexNode::Var: return var(static_cast<size_t>(n.value));
      case IndexNode::Const: return int_literal(n.value);
      default: break;
    }
    std::string a = index(n.a), b = index(n.b), expr;
    bool plain = range_[n.a].lo >= 0 && k_.indices[n.b].kind == IndexNode::Const && k_.indices[n.b].value > 0;
    switch (n.kind) {
      case IndexNode::Add: expr = a + " + " + b; break;
      case IndexNode::Mul: expr = a + " * " + b; break;
      case IndexNode::FloorDiv: expr = plain ? a + " / " + b : "kiln_floordiv(" + a + ", " + b + ")"; break;
      case IndexNode::Mod: expr = plain ? a + " % " + b : "kiln_floormod(" + a + ", " + b + ")"; break;
      default: break;
    }
    return declare("x" + std::to_string(id), "long long", expr);
  }

  std::string value(int id) {
    std::string name = "v" + std::to_string(id);
    if (declared(name)) return name;
    const ValueNode& v = k_.values[id];
    std::string expr;
    switch (v.kind) {
      case ValueNode::Load: expr = load(v); break;
      case ValueNode::Constant: expr = literal(v.constant, v.dtype); break;
      case ValueNode::IndexValue: expr = convert(index(v.index), kInt64, v.dtype); break;
      case ValueNode::InRange: {
        std::string i = index(v.index);
        expr = convert("(" + i + " >= " + int_literal(v.lo) + " && " + i + " < " + int_literal(v.hi) + ")", kBool,
                       v.dtype);
        break;
      }
      case ValueNode::Elementwise: {
        std::vector<std::string> operands;
        std::vector<ScalarType> types;
        for (int o : v.operands) operands.push_back(value(o)), types.push_back(k_.values[o].dtype);
        expr = elementwise(v.op, v.dtype, operands, types);
        break;
      }
      case ValueNode::Accumulator: {
        const Reduction& red = k_.reductions[v.reduction];
        std::string r = std::to_string(v.reduction);
        // A float32 accumulator of a float16/bfloat16 reduction rounds once here.
        expr = ir::is_arg_reduction(red.op)
                   ? convert("position" + r, kInt64, v.dtype)
                   : convert(convert("acc" + r, compute_dtype(red.dtype), red.dtype), red.dtype, v.dtype);
        break;
      }
      case ValueNode::Random: expr = random(v); break;
    }
    return declare(name, c_type(v.dtype), expr);
  }

  // A load whose index may leave its argument (a pad or concat reading past its operand) reads 0
  // there, as on the CPU; the bound of a scaled argument grows with the runtime extent.
  // Whether load `v`'s index stays inside its argument (else it reads 0 outside, behind a guard).
  bool inside(const ValueNode& v) const {
    const Arg& arg = k_.args[v.arg];
    const Interval& unit = arg.scaled ? residual_[v.index] : range_[v.index];
    return unit.lo >= 0 && unit.hi < arg.numel;
  }

  std::string load(const ValueNode& v) {
    const Arg& arg = k_.args[v.arg];
    if (lane_ >= 0 && vector_args_[v.arg]) return convert(vector_lane(v.arg), arg.dtype, v.dtype);
    std::string i = index(v.index), a = "a" + std::to_string(v.arg);
    std::string loaded = convert(a + "[" + i + "]", arg.dtype, v.dtype);
    if (inside(v)) return loaded;
    std::string bound = arg.scaled ? int_literal(arg.numel) + " * kiln_extent" : int_literal(arg.numel);
    return "((" + i + " >= 0 && " + i + " < " + bound + ") ? " + loaded + " : " + literal(Scalar(0), v.dtype) + ")";
  }

  std::string random(const ValueNode& v) {
    std::string call = "(a" + std::to_string(v.arg) + ", " + index(v.index) + ")";
    if (v.distribution == ir::Distribution::Normal) return convert("kiln_normal" + call, kFloat64, v.dtype);
    if (compute_dtype(v.dtype) == kFloat32) return convert("kiln_uniform_f" + call, kFloat32, v.dtype);
    return convert("kiln_uniform" + call, kFloat64, v.dtype);
  }

  std::string vector_lane(int arg) const { return "a" + std::to_string(arg) + "_v." + "xyzw"[lane_]; }

  void store(const Store& s) {
    ScalarType t = k_.args[s.arg].dtype;
    if (lane_ >= 0 && vector_args_[s.arg])
      return line(vector_lane(s.arg) + " = " + convert(value(s.value), k_.values[s.value].dtype, t) + ";");
    line("a" + std::to_string(s.arg) + "[" + index(s.index) + "] = " +
         convert(value(s.value), k_.values[s.value].dtype, t) + ";");
  }

  const Kernel& k_;
  std::string code_;
  int depth_ = 0;
  std::vector<std::unordered_set<std::string>> scopes_;
  std::vector<Interval> range_, residual_;
  std::vector<bool> vector_args_;  // per argument: moved through vector_type (thread_per_point_body)
  int lane_ = -1;                  // the point of the group being rendered, or -1
};

}  // namespace

KernelSource render(const Kernel& k) { return Renderer(k).run(); }

std::vector<void*> kernel_params(const Kernel& k, void* const* args, int64_t* extent) {
  std::vector<void*> params(k.args.size() + 1);
  for (size_t a = 0; a < k.args.size(); ++a) params[a] = k.args[a].by_value ? args[a] : const_cast<void**>(&args[a]);
  params.back() = extent;
  return params;
}

}  // namespace kiln::codegen::cuda
