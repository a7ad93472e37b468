// The LLVM CPU backend: hand-built Kernels compiled with Compiler and compared with plain C++
// loops, the vectorized transcendentals measured against glibc (long double for double inputs),
// and the generated assembly inspected for vector code without library calls.
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <random>
#include <regex>
#include <string>
#include <type_traits>
#include <vector>

#include "codegen/kernel.h"
#include "codegen/cpu/compiler.h"

namespace kiln::codegen {
namespace {

using ir::Op;
using cpu::CompiledKernel;
using cpu::Compiler;

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------------------------
// Building kernels by hand.

struct Builder {
  Kernel k;
  Builder(std::string name, Shape outer, Shape inner = {}) {
    k.name = std::move(name);
    k.outer = std::move(outer);
    k.inner = std::move(inner);
  }
  int arg(ScalarType t, int64_t numel, bool output = false) {
    k.args.push_back({t, numel, output});
    return int(k.args.size()) - 1;
  }
  int idx(IndexNode n) {
    k.indices.push_back(n);
    return int(k.indices.size()) - 1;
  }
  int var(int v) { return idx({IndexNode::Var, v}); }
  int cst(int64_t c) { return idx({IndexNode::Const, c}); }
  int add(int a, int b) { return idx({IndexNode::Add, 0, a, b}); }
  int mul(int a, int b) { return idx({IndexNode::Mul, 0, a, b}); }
  int floordiv(int a, int b) { return idx({IndexNode::FloorDiv, 0, a, b}); }
  int mod(int a, int b) { return idx({IndexNode::Mod, 0, a, b}); }
  // offset + sum of coef * var
  int affine(std::vector<std::pair<int, int64_t>> terms, int64_t offset = 0) {
    int acc = cst(offset);
    for (auto [v, c] : terms) acc = add(acc, mul(var(v), cst(c)));
    return acc;
  }
  int val(ValueNode n) {
    k.values.push_back(n);
    return int(k.values.size()) - 1;
  }
  int load(ScalarType t, int a, int index) {
    ValueNode n{ValueNode::Load, t};
    n.arg = a;
    n.index = index;
    return val(n);
  }
  int constant(ScalarType t, Scalar s) {
    ValueNode n{ValueNode::Constant, t};
    n.constant = s;
    return val(n);
  }
  int iota(ScalarType t, int index) {
    ValueNode n{ValueNode::IndexValue, t};
    n.index = index;
    return val(n);
  }
  int in_range(int index, int64_t lo, int64_t hi) {
    ValueNode n{ValueNode::InRange, kBool};
    n.index = index;
    n.lo = lo;
    n.hi = hi;
    return val(n);
  }
  int ew(Op op, ScalarType t, std::vector<int> xs) {
    ValueNode n{ValueNode::Elementwise, t};
    n.op = op;
    n.operands = std::move(xs);
    return val(n);
  }
  int acc(ScalarType t, int r) {
    ValueNode n{ValueNode::Accumulator, t};
    n.reduction = r;
    return val(n);
  }
  int reduce(Op op, ScalarType t, int value) {
    k.reductions.push_back({op, t, value});
    return int(k.reductions.size()) - 1;
  }
  void inner_store(int a, int index, int v) { k.inner_stores.push_back({a, index, v}); }
  void outer_store(int a, int index, int v) { k.outer_stores.push_back({a, index, v}); }

  // The builder keeps the code alive (a CompiledKernel owns its machine code), so `b.compile().fn`
  // stays callable while `b` lives.
  CompiledKernel compile(bool text = false) {
    k.name += "_" + std::to_string(structural_hash(k));
    return compiled.emplace_back(Compiler::instance().compile(k, text));
  }
  std::vector<CompiledKernel> compiled;
};

// Runs fn over [0, n) as the given number of pieces with random cut points.
void run_split(KernelFn fn, void* const* args, int64_t n, int pieces, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<int64_t> cuts{0, n};
  for (int i = 1; i < pieces; ++i) cuts.push_back(std::uniform_int_distribution<int64_t>(0, n)(rng));
  std::sort(cuts.begin(), cuts.end());
  for (size_t i = 0; i + 1 < cuts.size(); ++i) fn(args, nullptr, cuts[i], cuts[i + 1]);
}

template <typename T>
bool same(T a, T b) {
  if constexpr (std::is_floating_point_v<T>) return (std::isnan(a) && std::isnan(b)) || a == b;
  else return a == b;
}

// out[i] = op(x[i]) (or op(x[i], y[i])) over a 1-D outer space, T -> R (bool results as bytes).
template <typename R, typename T, typename SR = std::conditional_t<std::is_same_v<R, bool>, uint8_t, R>>
std::vector<SR> run_map(Op op, const std::vector<T>& x, const std::vector<T>* y = nullptr, int pieces = 1) {
  int64_t n = int64_t(x.size());
  constexpr ScalarType t = dtype_of<T>, r = dtype_of<R>;
  Builder b(std::string("map_") + std::string(ir::op_name(op)), {n});
  int ax = b.arg(t, n), ay = y ? b.arg(t, n) : -1, out = b.arg(r, n, true);
  int i = b.var(0);
  std::vector<int> operands{b.load(t, ax, i)};
  if (y) operands.push_back(b.load(t, ay, i));
  b.inner_store(out, i, b.ew(op, r, operands));
  KernelFn fn = b.compile().fn;
  std::vector<SR> result(x.size());
  std::vector<void*> args{const_cast<T*>(x.data())};
  if (y) args.push_back(const_cast<T*>(y->data()));
  args.push_back(result.data());
  run_split(fn, args.data(), n, pieces, 7);
  return result;
}

// ---------------------------------------------------------------------------------------------
// Elementwise kernels and index arithmetic.

TEST(CodegenLlvm, Elementwise1D) {
  const int64_t n = 1003;
  Builder b("ew1d", {n});
  int a0 = b.arg(kFloat32, n), a1 = b.arg(kFloat32, n), out = b.arg(kFloat32, n, true);
  int i = b.var(0);
  int prod = b.ew(Op::Mul, kFloat32, {b.load(kFloat32, a0, i), b.load(kFloat32, a1, i)});
  b.inner_store(out, i, b.ew(Op::Add, kFloat32, {prod, b.constant(kFloat32, Scalar(0.1))}));
  CompiledKernel c = b.compile();
  std::vector<float> x(n), y(n), got(n, -1);
  for (int64_t j = 0; j < n; ++j) x[j] = 0.37f * j - 100, y[j] = 1.0f / (j + 1);
  void* args[] = {x.data(), y.data(), got.data()};
  c.fn(args, nullptr, 0, n);
  for (int64_t j = 0; j < n; ++j) ASSERT_EQ(got[j], x[j] * y[j] + 0.1f) << j;  // no contraction into an FMA
}

TEST(CodegenLlvm, BroadcastAndPermute) {
  // out[i, j, k] = x[k, i, j] + row[j] - col[i] with x of shape [7, 5, 6]: a permuted load and
  // broadcasts (coefficient 0 for the other axes), int32 and float64.
  const int64_t I = 5, J = 6, K = 7;
  for (ScalarType t : {kInt32, kFloat64}) {
    Builder b("permute", {I, J, K});
    int ax = b.arg(t, I * J * K), arow = b.arg(t, J), acol = b.arg(t, I), out = b.arg(t, I * J * K, true);
    int v = b.load(t, ax, b.affine({{2, I * J}, {0, J}, {1, 1}}));
    v = b.ew(Op::Add, t, {v, b.load(t, arow, b.affine({{0, 0}, {1, 1}, {2, 0}}))});
    v = b.ew(Op::Sub, t, {v, b.load(t, acol, b.affine({{0, 1}}))});
    b.inner_store(out, b.affine({{0, J * K}, {1, K}, {2, 1}}), v);
    KernelFn fn = b.compile().fn;
    std::vector<double> x(I * J * K), row(J), col(I);
    for (size_t q = 0; q < x.size(); ++q) x[q] = double(q * 3 % 17) - 8;
    for (int64_t j = 0; j < J; ++j) row[j] = 10 * j;
    for (int64_t i = 0; i < I; ++i) col[i] = 100 * i;
    dispatch_dtype(t, [&]<typename T>() {
      if constexpr (!std::is_same_v<T, bool>) {
      std::vector<T> xt(x.begin(), x.end()), rt(row.begin(), row.end()), ct(col.begin(), col.end());
      for (int pieces : {1, 3, 10}) {
        std::vector<T> got(I * J * K, T(-1));
        void* args[] = {xt.data(), rt.data(), ct.data(), got.data()};
        run_split(fn, args, I * J * K, pieces, pieces);
        for (int64_t i = 0; i < I; ++i)
          for (int64_t j = 0; j < J; ++j)
            for (int64_t k = 0; k < K; ++k)
              ASSERT_EQ(got[(i * J + j) * K + k], xt[(k * I + i) * J + j] + rt[j] - ct[i]) << i << j << k;
      }
      }
    });
  }
}

TEST(CodegenLlvm, ReshapeWithFloorDivMod) {
  // out (6x4, flat) = transpose of in (4x6): out[f] = in[(f % 4) * 6 + f / 4].
  Builder b("reshape", {24});
  int ain = b.arg(kInt64, 24), out = b.arg(kInt64, 24, true);
  int f = b.var(0);
  int src = b.add(b.mul(b.mod(f, b.cst(4)), b.cst(6)), b.floordiv(f, b.cst(4)));
  b.inner_store(out, f, b.load(kInt64, ain, src));
  KernelFn fn = b.compile().fn;
  std::vector<int64_t> in(24), got(24);
  for (int q = 0; q < 24; ++q) in[q] = q * 1000 + 1;
  void* args[] = {in.data(), got.data()};
  fn(args, nullptr, 0, 24);
  for (int r = 0; r < 6; ++r)
    for (int c = 0; c < 4; ++c) EXPECT_EQ(got[r * 4 + c], in[c * 6 + r]);
}

// `count` floats placed against an inaccessible page (after them, or before them): a read out of
// bounds faults instead of going unnoticed.
class GuardedFloats {
 public:
  GuardedFloats(size_t count, bool guard_after) {
    page_ = size_t(sysconf(_SC_PAGESIZE));
    size_t bytes = (count * sizeof(float) + page_ - 1) / page_ * page_;
    size_ = bytes + 2 * page_;
    base_ = static_cast<char*>(mmap(nullptr, size_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0));
    mprotect(base_, page_, PROT_NONE);
    mprotect(base_ + page_ + bytes, page_, PROT_NONE);
    data_ = reinterpret_cast<float*>(guard_after ? base_ + page_ + bytes - count * sizeof(float) : base_ + page_);
  }
  ~GuardedFloats() { munmap(base_, size_); }
  float* data() { return data_; }

 private:
  size_t page_, size_;
  char* base_;
  float* data_;
};

TEST(CodegenLlvm, PadWithInRangeAndWhere) {
  // out[i, j] = x[i, j - 2] where 0 <= j - 2 < W else -1: x is [3, W], out [3, W + 4]. The load
  // index leaves x at the borders: those reads must not happen (x sits against guard pages).
  for (int64_t W : {5, 1000}) {
    Builder b("pad", {3, W + 4});
    int ax = b.arg(kFloat32, 3 * W), out = b.arg(kFloat32, 3 * (W + 4), true);
    int col = b.affine({{1, 1}}, -2);
    int v = b.load(kFloat32, ax, b.add(b.affine({{0, W}}), col));
    int w = b.ew(Op::Where, kFloat32, {b.in_range(col, 0, W), v, b.constant(kFloat32, Scalar(-1.0))});
    b.inner_store(out, b.affine({{0, W + 4}, {1, 1}}), w);
    CompiledKernel c = b.compile(true);
    if (W == 1000) {
      EXPECT_NE(c.text.llvm_ir.find("llvm.masked.load"), std::string::npos) << "expected a masked vector load";
    }
    for (bool guard_after : {true, false}) {
      GuardedFloats x(3 * W, guard_after);
      std::vector<float> got(3 * (W + 4));
      for (int q = 0; q < 3 * W; ++q) x.data()[q] = float(q);
      void* args[] = {x.data(), got.data()};
      run_split(c.fn, args, 3 * (W + 4), 4, 1);
      for (int i = 0; i < 3; ++i)
        for (int j = 0; j < W + 4; ++j)
          ASSERT_EQ(got[i * (W + 4) + j], (j >= 2 && j < W + 2) ? x.data()[i * W + j - 2] : -1.0f) << i << " " << j;
    }
  }
}

TEST(CodegenLlvm, ConcatAxisIsSwitchedOn) {
  // A stack of 4 rows of width W along outer axis 0 of extent 6 (rows 4 and 5 past the stack
  // read the chain's last fallback, x0): the InRange tests of axis 0 make it a switch, each case
  // loading only its own row; rows past the cases take the general path.
  const int64_t W = 37, rows = 4, extent = 6;
  Builder b("stack", {extent, W});
  std::vector<int> xs;
  for (int r = 0; r < rows; ++r) xs.push_back(b.arg(kFloat32, W));
  int out = b.arg(kFloat32, extent * W, true);
  int j = b.var(1);
  int result = b.load(kFloat32, xs[0], j);
  for (int r = 1; r < rows; ++r)
    result = b.ew(Op::Where, kFloat32, {b.in_range(b.var(0), r, r + 1), b.load(kFloat32, xs[r], j), result});
  b.inner_store(out, b.affine({{0, W}, {1, 1}}), result);
  CompiledKernel c = b.compile(true);
  EXPECT_NE(c.text.llvm_ir.find("switch i64"), std::string::npos) << "expected a switch over the stacked axis";
  std::vector<std::vector<float>> data(rows, std::vector<float>(W));
  std::vector<void*> args;
  for (int r = 0; r < rows; ++r) {
    for (int64_t q = 0; q < W; ++q) data[r][q] = float(100 * r + q);
    args.push_back(data[r].data());
  }
  std::vector<float> got(extent * W, -1.0f);
  args.push_back(got.data());
  run_split(c.fn, args.data(), extent * W, 5, 3);
  for (int64_t p = 0; p < extent; ++p)
    for (int64_t q = 0; q < W; ++q) ASSERT_EQ(got[p * W + q], data[p < rows ? p : 0][q]) << p << " " << q;
}

TEST(CodegenLlvm, SmallWindowReductionsVectorizeAcrossShortRows) {
  // A 2x2 max-pool: out[r, c] = max over the window of x[2r + i/2, 2c + i%2], for rows of 13
  // outputs. The loop over a row is the vector loop, with a masked tail as the row is short.
  const int64_t R = 5, C = 13, W = 2 * C;
  Builder b("pool", {R, C}, {4});
  int ax = b.arg(kFloat32, 2 * R * W), out = b.arg(kFloat32, R * C, true);
  int i = b.var(2);
  int row = b.add(b.mul(b.var(0), b.cst(2)), b.floordiv(i, b.cst(2)));
  int col = b.add(b.mul(b.var(1), b.cst(2)), b.mod(i, b.cst(2)));
  int r = b.reduce(Op::ReduceMax, kFloat32, b.load(kFloat32, ax, b.add(b.mul(row, b.cst(W)), col)));
  b.outer_store(out, b.affine({{0, C}, {1, 1}}), b.acc(kFloat32, r));
  CompiledKernel c = b.compile(true);
  EXPECT_NE(c.text.llvm_ir.find("llvm.masked.store"), std::string::npos) << "expected a row loop with a masked tail";
  std::vector<float> x(2 * R * W), got(R * C);
  for (size_t q = 0; q < x.size(); ++q) x[q] = float((q * 7919) % 101) - 50;
  void* args[] = {x.data(), got.data()};
  run_split(c.fn, args, R * C, 3, 5);
  for (int64_t p = 0; p < R; ++p)
    for (int64_t q = 0; q < C; ++q) {
      float want = std::max(std::max(x[2 * p * W + 2 * q], x[2 * p * W + 2 * q + 1]),
                            std::max(x[(2 * p + 1) * W + 2 * q], x[(2 * p + 1) * W + 2 * q + 1]));
      ASSERT_EQ(got[p * C + q], want) << p << " " << q;
    }
}

TEST(CodegenLlvm, ShortRowsOfAReductionLoadContiguously) {
  // out[c] = sum over [n, 26, 26] of x[n, c, h, w] (a conv's bias gradient): the rows of 26 are
  // the vector loop (masked loads), not gathered across rows after a full unroll.
  const int64_t N = 3, C = 4, H = 26;
  Builder b("bias_grad", {C}, {N, H, H});
  int ax = b.arg(kFloat32, N * C * H * H), out = b.arg(kFloat32, C, true);
  int r = b.reduce(Op::ReduceSum, kFloat32, b.load(kFloat32, ax, b.affine({{1, C * H * H}, {0, H * H}, {2, H}, {3, 1}})));
  b.outer_store(out, b.var(0), b.acc(kFloat32, r));
  CompiledKernel c = b.compile(true);
  EXPECT_NE(c.text.llvm_ir.find("llvm.masked.load"), std::string::npos) << "expected masked row loads";
  EXPECT_EQ(c.text.llvm_ir.find("masked.gather"), std::string::npos) << "rows should not be gathered";
  std::vector<float> x(N * C * H * H), got(C);
  for (size_t q = 0; q < x.size(); ++q) x[q] = float(q % 17) * 0.25f;
  void* args[] = {x.data(), got.data()};
  run_split(c.fn, args, C, 2, 9);
  for (int64_t ch = 0; ch < C; ++ch) {
    double want = 0;
    for (int64_t n = 0; n < N; ++n)
      for (int64_t q = 0; q < H * H; ++q) want += x[(n * C + ch) * H * H + q];
    EXPECT_NEAR(got[ch], want, 1e-3 * want) << ch;
  }
}

TEST(CodegenLlvm, IotaInEveryDtype) {
  const int64_t n = 37;
  for (ScalarType t : {kBool, kInt32, kInt64, kFloat32, kFloat64}) {
    Builder b("iota", {n});
    int out = b.arg(t, n, true);
    int i = b.var(0);
    b.inner_store(out, i, b.iota(t, b.affine({{0, 3}}, -5)));  // 3i - 5
    KernelFn fn = b.compile().fn;
    dispatch_dtype(t, [&]<typename T>() {
      using Stored = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;
      std::vector<Stored> got(n);
      void* args[] = {got.data()};
      fn(args, nullptr, 0, n);
      for (int64_t q = 0; q < n; ++q) EXPECT_EQ(got[q], Stored(T(3 * q - 5))) << dtype_name(t) << " " << q;
    });
  }
}

template <typename To, typename From>
To convert(From x) {
  if constexpr (std::is_same_v<To, bool>) return x != From(0);
  else return static_cast<To>(x);
}

TEST(CodegenLlvm, CastsBetweenEveryDtype) {
  const std::vector<double> values{0, 1, -1, 2.5, -3.75, 100, 0.5, -0.0, 1e6, -2e9, 7};
  const ScalarType all[] = {kBool, kInt32, kInt64, kFloat32, kFloat64};
  for (ScalarType from : all)
    for (ScalarType to : all) {
      int64_t n = int64_t(values.size());
      Builder b("cast", {n});
      int ain = b.arg(from, n), out = b.arg(to, n, true);
      int i = b.var(0);
      b.inner_store(out, i, b.ew(Op::Cast, to, {b.load(from, ain, i)}));
      KernelFn fn = b.compile().fn;
      dispatch_dtype(from, [&]<typename F>() {
        dispatch_dtype(to, [&]<typename T>() {
          using SF = std::conditional_t<std::is_same_v<F, bool>, uint8_t, F>;
          using ST = std::conditional_t<std::is_same_v<T, bool>, uint8_t, T>;
          std::vector<SF> in;
          for (double v : values) in.push_back(SF(convert<F>(v)));
          std::vector<ST> got(n);
          void* args[] = {in.data(), got.data()};
          fn(args, nullptr, 0, n);
          for (int64_t q = 0; q < n; ++q)
            EXPECT_EQ(got[q], ST(convert<T>(F(in[q])))) << dtype_name(from) << "->" << dtype_name(to) << " " << values[q];
        });
      });
    }
}

TEST(CodegenLlvm, ComparisonsGiveBools) {
  const std::vector<double> a{0, 1, -1, 2, 5, kNaN, 3, -0.0}, c{0, 2, -1, 1, 5, 1, kNaN, 0.0};
  for (ScalarType t : {kBool, kInt32, kInt64, kFloat32, kFloat64})
    for (Op op : {Op::Eq, Op::Ne, Op::Lt, Op::Le, Op::Gt, Op::Ge})
      dispatch_dtype(t, [&]<typename T>() {
        std::vector<T> x, y;
        for (size_t q = 0; q < a.size(); ++q) {
          if (!std::is_floating_point_v<T> && (std::isnan(a[q]) || std::isnan(c[q]))) continue;
          x.push_back(convert<T>(a[q]));
          y.push_back(convert<T>(c[q]));
        }
        if constexpr (!std::is_same_v<T, bool>) {  // bools: BoolArithmetic
          std::vector<uint8_t> got = run_map<bool, T>(op, x, &y);
          for (size_t q = 0; q < x.size(); ++q) {
            bool want = op == Op::Eq ? x[q] == y[q] : op == Op::Ne ? x[q] != y[q] : op == Op::Lt ? x[q] < y[q]
                      : op == Op::Le ? x[q] <= y[q] : op == Op::Gt ? x[q] > y[q] : x[q] >= y[q];
            EXPECT_EQ(got[q], want) << ir::op_name(op) << " " << dtype_name(t) << " " << q;
          }
        }
      });
}

TEST(CodegenLlvm, BoolArithmetic) {
  // Bools live as bytes: add = or, mul = and, sub = xor, max = or, min = and, lt = !a && b.
  std::vector<uint8_t> x{0, 0, 1, 1}, y{0, 1, 0, 1};
  const int64_t n = 4;
  for (Op op : {Op::Add, Op::Mul, Op::Sub, Op::Maximum, Op::Minimum, Op::Lt, Op::Ge}) {
    Builder b("bool", {n});
    int ax = b.arg(kBool, n), ay = b.arg(kBool, n), out = b.arg(kBool, n, true);
    int i = b.var(0);
    b.inner_store(out, i, b.ew(op, kBool, {b.load(kBool, ax, i), b.load(kBool, ay, i)}));
    KernelFn fn = b.compile().fn;
    std::vector<uint8_t> got(n, 7);
    void* args[] = {x.data(), y.data(), got.data()};
    fn(args, nullptr, 0, n);
    for (int q = 0; q < n; ++q) {
      bool p = x[q], r = y[q];
      bool want = op == Op::Add ? (p || r) : op == Op::Mul ? (p && r) : op == Op::Sub ? (p != r)
                : op == Op::Maximum ? (p || r) : op == Op::Minimum ? (p && r) : op == Op::Lt ? (p < r) : (p >= r);
      EXPECT_EQ(got[q], uint8_t(want)) << ir::op_name(op) << " " << q;
    }
  }
}

template <typename T>
T wrap(uint64_t v) {
  return static_cast<T>(static_cast<std::make_unsigned_t<T>>(v));
}

template <typename T>
T ref_ipow(T base, T e) {
  if (e < 0) return base == 1 ? 1 : (base == -1 ? (e % 2 ? -1 : 1) : 0);
  using U = std::make_unsigned_t<T>;
  U r = 1, b = U(base);
  for (; e; e >>= 1) {
    if (e & 1) r *= b;
    b *= b;
  }
  return T(r);
}

template <typename T>
void check_integer_ops() {
  using U = std::make_unsigned_t<T>;
  constexpr T lo = std::numeric_limits<T>::min(), hi = std::numeric_limits<T>::max();
  std::vector<T> x{hi, lo, lo, hi / 2 + 7, -5, 3, 0, -1, 2, 123457, -3, 1, -1};
  std::vector<T> y{1, -1, 1, 3, 7, 40, 0, 5, 62, -9, 6, -4, -3};
  auto add = run_map<T, T>(Op::Add, x, &y), sub = run_map<T, T>(Op::Sub, x, &y), mul = run_map<T, T>(Op::Mul, x, &y);
  auto mx = run_map<T, T>(Op::Maximum, x, &y), mn = run_map<T, T>(Op::Minimum, x, &y);
  auto pw = run_map<T, T>(Op::Pow, x, &y), neg = run_map<T, T>(Op::Neg, x), ab = run_map<T, T>(Op::Abs, x);
  for (size_t q = 0; q < x.size(); ++q) {
    EXPECT_EQ(add[q], wrap<T>(U(x[q]) + U(y[q]))) << q;
    EXPECT_EQ(sub[q], wrap<T>(U(x[q]) - U(y[q]))) << q;
    EXPECT_EQ(mul[q], wrap<T>(U(x[q]) * U(y[q]))) << q;
    EXPECT_EQ(mx[q], std::max(x[q], y[q])) << q;
    EXPECT_EQ(mn[q], std::min(x[q], y[q])) << q;
    EXPECT_EQ(pw[q], ref_ipow(x[q], y[q])) << x[q] << "^" << y[q];
    EXPECT_EQ(neg[q], wrap<T>(U(0) - U(x[q]))) << q;
    EXPECT_EQ(ab[q], x[q] < 0 ? wrap<T>(U(0) - U(x[q])) : x[q]) << q;
  }
}

TEST(CodegenLlvm, IntegerOpsWrapAround) {
  check_integer_ops<int32_t>();
  check_integer_ops<int64_t>();
}

TEST(CodegenLlvm, FloatMaximumMinimumPropagateNaN) {
  const float nan = NAN, inf = INFINITY;
  std::vector<float> x{1, nan, 3, -inf, nan, 2}, y{2, 1, nan, 5, nan, -inf};
  auto mx = run_map<float, float>(Op::Maximum, x, &y), mn = run_map<float, float>(Op::Minimum, x, &y);
  for (size_t q = 0; q < x.size(); ++q) {
    bool nan = std::isnan(x[q]) || std::isnan(y[q]);
    EXPECT_TRUE(same(mx[q], nan ? float(kNaN) : std::max(x[q], y[q]))) << q;
    EXPECT_TRUE(same(mn[q], nan ? float(kNaN) : std::min(x[q], y[q]))) << q;
  }
  auto ab = run_map<float, float>(Op::Abs, std::vector<float>{-0.0f, -2.0f, 3.0f});
  EXPECT_TRUE(std::signbit(ab[0]));  // v < 0 ? -v : v keeps -0.0, as the reference does
  EXPECT_EQ(ab[1], 2.0f);
}

// ---------------------------------------------------------------------------------------------
// Reductions.

// out[r] = epilogue(reduce over x[r, :]) for a [rows, cols] input.
template <typename T>
std::vector<T> reduce_rows(Op op, const std::vector<T>& x, int64_t rows, int64_t cols, int pieces) {
  constexpr ScalarType t = dtype_of<T>;
  Builder b(std::string("rows_") + std::string(ir::op_name(op)), {rows}, {cols});
  int ax = b.arg(t, rows * cols), out = b.arg(t, rows, true);
  int r = b.reduce(op, t, b.load(t, ax, b.affine({{0, cols}, {1, 1}})));
  int epilogue = b.ew(Op::Add, t, {b.acc(t, r), b.constant(t, Scalar(1))});
  b.outer_store(out, b.var(0), epilogue);
  KernelFn fn = b.compile().fn;
  std::vector<T> got(rows);
  void* args[] = {const_cast<T*>(x.data()), got.data()};
  run_split(fn, args, rows, pieces, 3);
  return got;
}

template <typename T>
void check_row_reductions() {
  const int64_t rows = 13, cols = 301;
  std::mt19937 rng(42);
  std::vector<T> x(rows * cols);
  for (T& v : x) v = T(std::uniform_int_distribution<int>(-1000, 1000)(rng)) / T(std::is_floating_point_v<T> ? 7 : 1);
  for (Op op : {Op::ReduceSum, Op::ReduceMax, Op::ReduceMin})
    for (int pieces : {1, 4}) {
      std::vector<T> got = reduce_rows(op, x, rows, cols, pieces);
      for (int64_t r = 0; r < rows; ++r) {
        double acc = op == Op::ReduceSum ? 0 : double(x[r * cols]);
        for (int64_t c = 0; c < cols; ++c) {
          double v = double(x[r * cols + c]);
          acc = op == Op::ReduceSum ? acc + v : op == Op::ReduceMax ? std::max(acc, v) : std::min(acc, v);
        }
        if (std::is_floating_point_v<T> && op == Op::ReduceSum)
          EXPECT_NEAR(double(got[r]), acc + 1, 1e-4 * (1 + std::fabs(acc))) << r;
        else
          EXPECT_EQ(got[r], T(acc + 1)) << ir::op_name(op) << " row " << r;
      }
    }
}

TEST(CodegenLlvm, RowReductions) {
  check_row_reductions<float>();
  check_row_reductions<double>();
  check_row_reductions<int32_t>();
  check_row_reductions<int64_t>();
}

TEST(CodegenLlvm, MaxReductionPropagatesNaN) {
  const int64_t rows = 4, cols = 100;
  std::vector<float> x(rows * cols, 1.0f);
  x[0 * cols + 50] = kNaN;
  x[2 * cols + 99] = kNaN;
  x[3 * cols + 0] = kNaN;
  for (Op op : {Op::ReduceMax, Op::ReduceMin}) {
    std::vector<float> got = reduce_rows(op, x, rows, cols, 1);
    EXPECT_TRUE(std::isnan(got[0]));
    EXPECT_EQ(got[1], 2.0f);
    EXPECT_TRUE(std::isnan(got[2]));
    EXPECT_TRUE(std::isnan(got[3]));
  }
}

TEST(CodegenLlvm, IntegerSumWrapsAndBoolSumCounts) {
  std::vector<int32_t> x{std::numeric_limits<int32_t>::max(), 5, 0, 0};
  std::vector<int32_t> got = reduce_rows(Op::ReduceSum, x, 2, 2, 1);
  EXPECT_EQ(got[0], wrap<int32_t>(uint32_t(std::numeric_limits<int32_t>::max()) + 5u + 1u));
  // sum of bools into int64 over a [2, 3] inner space (two inner axes), rank-0 outer space.
  Builder b("boolsum", {}, {2, 3});
  int ax = b.arg(kBool, 6), out = b.arg(kInt64, 1, true);
  int r = b.reduce(Op::ReduceSum, kInt64, b.load(kBool, ax, b.affine({{0, 3}, {1, 1}})));
  b.outer_store(out, b.cst(0), b.acc(kInt64, r));
  KernelFn fn = b.compile().fn;
  std::vector<uint8_t> bits{1, 0, 1, 1, 1, 0};
  int64_t count = -1;
  void* args[] = {bits.data(), &count};
  fn(args, nullptr, 0, 1);
  EXPECT_EQ(count, 4);
}

// softmax over the last axis of [rows, cols]: acc0 = max, acc1 = sum exp(x - acc0), inner
// stores exp(x - acc0) / acc1; also an outer store of the sum (checks accumulator epilogues).
template <typename T>
void check_softmax(int64_t rows, int64_t cols) {
  constexpr ScalarType t = dtype_of<T>;
  Builder b("softmax", {rows}, {cols});
  int ax = b.arg(t, rows * cols), out = b.arg(t, rows * cols, true), sums = b.arg(t, rows, true);
  int at = b.affine({{0, cols}, {1, 1}});
  int x = b.load(t, ax, at);
  int r0 = b.reduce(Op::ReduceMax, t, x);
  int e = b.ew(Op::Exp, t, {b.ew(Op::Sub, t, {x, b.acc(t, r0)})});
  int r1 = b.reduce(Op::ReduceSum, t, e);
  b.inner_store(out, at, b.ew(Op::Div, t, {e, b.acc(t, r1)}));
  b.outer_store(sums, b.var(0), b.acc(t, r1));
  KernelFn fn = b.compile().fn;
  std::mt19937 rng(5);
  std::vector<T> in(rows * cols);
  for (T& v : in) v = T(std::normal_distribution<double>(0, 3)(rng));
  std::vector<T> got(rows * cols), got_split(rows * cols), s(rows), s_split(rows);
  void* args[] = {in.data(), got.data(), s.data()};
  fn(args, nullptr, 0, rows);
  void* args2[] = {in.data(), got_split.data(), s_split.data()};
  run_split(fn, args2, rows, 5, 11);
  EXPECT_EQ(got, got_split);
  EXPECT_EQ(s, s_split);
  for (int64_t r = 0; r < rows; ++r) {
    double m = -kInf, sum = 0;
    for (int64_t c = 0; c < cols; ++c) m = std::max(m, double(in[r * cols + c]));
    for (int64_t c = 0; c < cols; ++c) sum += std::exp(double(in[r * cols + c]) - m);
    EXPECT_NEAR(s[r], sum, sum * 1e-6);
    for (int64_t c = 0; c < cols; ++c) {
      double want = std::exp(double(in[r * cols + c]) - m) / sum;
      ASSERT_NEAR(got[r * cols + c], want, want * (std::is_same_v<T, float> ? 2e-6 : 1e-14) + 1e-30) << r << "," << c;
    }
  }
}

TEST(CodegenLlvm, Softmax) {
  check_softmax<float>(17, 1000);
  check_softmax<double>(9, 777);
  check_softmax<float>(3, 1);
}

TEST(CodegenLlvm, IndependentReductionsShareALoop) {
  // mean and mean of squares in one loop nest (neither reads the other), var in the epilogue.
  const int64_t rows = 6, cols = 257;
  Builder b("meanvar", {rows}, {cols});
  int ax = b.arg(kFloat64, rows * cols), out = b.arg(kFloat64, rows, true);
  int x = b.load(kFloat64, ax, b.affine({{0, cols}, {1, 1}}));
  int s1 = b.reduce(Op::ReduceSum, kFloat64, x);
  int s2 = b.reduce(Op::ReduceSum, kFloat64, b.ew(Op::Mul, kFloat64, {x, x}));
  int n = b.constant(kFloat64, Scalar(double(cols)));
  int mean = b.ew(Op::Div, kFloat64, {b.acc(kFloat64, s1), n});
  int var = b.ew(Op::Sub, kFloat64, {b.ew(Op::Div, kFloat64, {b.acc(kFloat64, s2), n}), b.ew(Op::Mul, kFloat64, {mean, mean})});
  b.outer_store(out, b.var(0), var);
  CompiledKernel c = b.compile(true);
  std::vector<double> in(rows * cols), got(rows);
  for (size_t q = 0; q < in.size(); ++q) in[q] = std::sin(double(q));
  void* args[] = {in.data(), got.data()};
  c.fn(args, nullptr, 0, rows);
  for (int64_t r = 0; r < rows; ++r) {
    double m = 0, m2 = 0;
    for (int64_t q = 0; q < cols; ++q) m += in[r * cols + q], m2 += in[r * cols + q] * in[r * cols + q];
    m /= cols, m2 /= cols;
    EXPECT_NEAR(got[r], m2 - m * m, 1e-12);
  }
  // <8 x double> with AVX-512, <4 x double> with AVX2: any vector of doubles shows the loop vectorized.
  EXPECT_NE(c.text.llvm_ir.find(" x double>"), std::string::npos) << "reduction loop not vectorized";
}

// Reductions over a strided axis ("column mode": vectorized across outer points). x is
// [B, N, M]; reduce over N: outer [B, M], inner [N]. Also a softmax over N (two dependent
// reductions and inner stores) in the same layout.
template <typename T>
void check_column_reductions(int64_t B, int64_t N, int64_t M) {
  constexpr ScalarType t = dtype_of<T>;
  std::mt19937 rng(9);
  std::vector<T> x(B * N * M);
  for (T& v : x) v = T(std::uniform_int_distribution<int>(-500, 500)(rng)) / T(std::is_floating_point_v<T> ? 8 : 1);
  auto at = [&](int64_t b, int64_t n, int64_t m) { return x[(b * N + n) * M + m]; };
  for (Op op : {Op::ReduceSum, Op::ReduceMax, Op::ReduceMin}) {
    Builder k(std::string("col_") + std::string(ir::op_name(op)), {B, M}, {N});
    int ax = k.arg(t, B * N * M), out = k.arg(t, B * M, true);
    int r = k.reduce(op, t, k.load(t, ax, k.affine({{0, N * M}, {2, M}, {1, 1}})));
    k.outer_store(out, k.affine({{0, M}, {1, 1}}), k.acc(t, r));
    CompiledKernel c = k.compile(true);
    EXPECT_EQ(c.text.llvm_ir.find("masked.gather"), std::string::npos) << "column mode should load contiguously";
    for (int pieces : {1, 3, 7}) {
      std::vector<T> got(B * M);
      void* args[] = {x.data(), got.data()};
      run_split(c.fn, args, B * M, pieces, pieces);
      for (int64_t b = 0; b < B; ++b)
        for (int64_t m = 0; m < M; ++m) {
          T want = at(b, 0, m);
          if (op == Op::ReduceSum) want = 0;
          for (int64_t n = 0; n < N; ++n)
            want = op == Op::ReduceSum ? T(want + at(b, n, m)) : op == Op::ReduceMax ? std::max(want, at(b, n, m))
                                                                                    : std::min(want, at(b, n, m));
          ASSERT_EQ(got[b * M + m], want) << ir::op_name(op) << " " << b << "," << m << " pieces " << pieces;
        }
    }
  }
  if constexpr (std::is_floating_point_v<T>) {
    Builder k("col_softmax", {B, M}, {N});
    int ax = k.arg(t, B * N * M), out = k.arg(t, B * N * M, true);
    int idx = k.affine({{0, N * M}, {2, M}, {1, 1}});
    int v = k.load(t, ax, idx);
    int r0 = k.reduce(Op::ReduceMax, t, v);
    int e = k.ew(Op::Exp, t, {k.ew(Op::Sub, t, {v, k.acc(t, r0)})});
    int r1 = k.reduce(Op::ReduceSum, t, e);
    k.inner_store(out, idx, k.ew(Op::Div, t, {e, k.acc(t, r1)}));
    CompiledKernel c = k.compile(true);
    EXPECT_NE(c.text.llvm_ir.find(t == kFloat32 ? "x float>" : "x double>"), std::string::npos);
    std::vector<T> got(B * N * M);
    void* args[] = {x.data(), got.data()};
    run_split(c.fn, args, B * M, 4, 2);
    for (int64_t b = 0; b < B; ++b)
      for (int64_t m = 0; m < M; ++m) {
        double mx = -kInf, sum = 0;
        for (int64_t n = 0; n < N; ++n) mx = std::max(mx, double(at(b, n, m)));
        for (int64_t n = 0; n < N; ++n) sum += std::exp(double(at(b, n, m)) - mx);
        for (int64_t n = 0; n < N; ++n) {
          double want = std::exp(double(at(b, n, m)) - mx) / sum;
          ASSERT_NEAR(got[(b * N + n) * M + m], want, want * 2e-6 + 1e-37) << b << "," << n << "," << m;
        }
      }
  }
}

TEST(CodegenLlvm, ColumnSumOverRankOneOuterSpace) {
  // out[m] = sum_n x[n, m] + x[n, m] * 2 for x [40, 999]: outer [999], inner [40].
  const int64_t N = 40, M = 999;
  Builder b("colsum1", {M}, {N});
  int ax = b.arg(kFloat64, N * M), out = b.arg(kFloat64, M, true);
  int x = b.load(kFloat64, ax, b.affine({{1, M}, {0, 1}}));
  int r = b.reduce(Op::ReduceSum, kFloat64, b.ew(Op::Add, kFloat64, {x, b.ew(Op::Mul, kFloat64, {x, b.constant(kFloat64, Scalar(2))})}));
  b.outer_store(out, b.var(0), b.acc(kFloat64, r));
  KernelFn fn = b.compile().fn;
  std::vector<double> in(N * M), got(M);
  for (size_t q = 0; q < in.size(); ++q) in[q] = double(q % 97) - 40;
  void* args[] = {in.data(), got.data()};
  run_split(fn, args, M, 5, 8);
  for (int64_t m = 0; m < M; ++m) {
    double want = 0;
    for (int64_t n = 0; n < N; ++n) want += in[n * M + m] + in[n * M + m] * 2;
    ASSERT_EQ(got[m], want) << m;
  }
}

TEST(CodegenLlvm, ColumnReductions) {
  check_column_reductions<float>(3, 50, 600);   // runs longer than a chunk
  check_column_reductions<double>(2, 33, 77);
  check_column_reductions<int32_t>(4, 20, 19);
  check_column_reductions<int64_t>(1, 7, 300);
}

// ---------------------------------------------------------------------------------------------
// Backend behaviour: name collisions, text, compile speed.

TEST(CodegenLlvm, DuplicateNamesAndText) {
  auto make = [](Op op) {
    Kernel k;
    k.name = "same_name_for_two_kernels";
    k.outer = {8};
    k.args = {{kInt32, 8, false}, {kInt32, 8, true}};
    k.indices = {{IndexNode::Var, 0}};
    ValueNode ld{ValueNode::Load, kInt32};
    ld.arg = 0;
    ld.index = 0;
    ValueNode c{ValueNode::Constant, kInt32};
    c.constant = Scalar(3);
    ValueNode e{ValueNode::Elementwise, kInt32};
    e.op = op;
    e.operands = {0, 1};
    k.values = {ld, c, e};
    k.inner_stores = {{1, 0, 2}};
    return k;
  };
  Compiler& be = Compiler::instance();
  CompiledKernel add = be.compile(make(Op::Add), false), mul = be.compile(make(Op::Mul), false);
  EXPECT_NE(add.fn, mul.fn);
  EXPECT_TRUE(add.text.llvm_ir.empty());
  std::vector<int32_t> x{0, 1, 2, 3, 4, 5, 6, 7}, y(8);
  void* args[] = {x.data(), y.data()};
  mul.fn(args, nullptr, 0, 8);
  EXPECT_EQ(y[5], 15);
  add.fn(args, nullptr, 0, 8);
  EXPECT_EQ(y[5], 8);
  // Every compile is a new function (caching is the kernel cache's job), with text on request,
  // under a symbol of its own while the others live; dropping a handle frees its code.
  CompiledKernel again = be.compile(make(Op::Add), true);
  EXPECT_NE(again.fn, add.fn);
  EXPECT_NE(again.text.llvm_ir.find("define void @same_name_for_two_kernels.v2("), std::string::npos);
  EXPECT_FALSE(again.text.assembly.empty());
  add = CompiledKernel{};
  mul = CompiledKernel{};
  CompiledKernel reused = be.compile(make(Op::Mul), true);  // the name is free again
  EXPECT_NE(reused.text.llvm_ir.find("define void @same_name_for_two_kernels("), std::string::npos);
  reused.fn(args, nullptr, 0, 8);
  EXPECT_EQ(y[5], 15);
  again.fn(args, nullptr, 0, 8);
  EXPECT_EQ(y[5], 8);
  std::printf("target: %s\n", be.target_description().c_str());
}

TEST(CodegenLlvm, CompileTime) {
  std::vector<double> ms;
  for (int q = 0; q < 8; ++q) {
    Builder b("small" + std::to_string(q), {1024});
    int ax = b.arg(kFloat32, 1024), out = b.arg(kFloat32, 1024, true);
    int i = b.var(0);
    int v = b.ew(Op::Mul, kFloat32, {b.load(kFloat32, ax, i), b.constant(kFloat32, Scalar(q + 2.0))});
    b.inner_store(out, i, b.ew(Op::Add, kFloat32, {v, b.constant(kFloat32, Scalar(1.0))}));
    ms.push_back(b.compile().compile_ms);
  }
  std::vector<double> later(ms.begin() + 1, ms.end());
  std::sort(later.begin(), later.end());
  std::printf("compile_ms: first %.2f, median of the next %zu: %.2f (max %.2f)\n", ms[0], later.size(),
              later[later.size() / 2], later.back());
  EXPECT_LT(later[later.size() / 2], 50.0);

  Builder b("exp_compile", {1024});
  int ax = b.arg(kFloat32, 1024), out = b.arg(kFloat32, 1024, true);
  b.inner_store(out, b.var(0), b.ew(Op::Exp, kFloat32, {b.load(kFloat32, ax, b.var(0))}));
  std::printf("compile_ms: exp f32 kernel %.2f\n", b.compile().compile_ms);
}

// ---------------------------------------------------------------------------------------------
// Transcendentals: vectorized (no library calls) and accurate.

const Op kTranscendentals[] = {Op::Exp, Op::Log, Op::Tanh, Op::Erf, Op::Sin, Op::Cos, Op::Pow};

TEST(CodegenLlvm, Float32ExpAssemblyIsVectorWithoutLibmCalls) {
  Builder b("exp_asm", {4096});
  int ax = b.arg(kFloat32, 4096), out = b.arg(kFloat32, 4096, true);
  b.inner_store(out, b.var(0), b.ew(Op::Exp, kFloat32, {b.load(kFloat32, ax, b.var(0))}));
  CompiledKernel c = b.compile(true);
  EXPECT_TRUE(std::regex_search(c.text.assembly, std::regex(R"(\bv\w+ps\s+[^\n]*%[yz]mm)"))) << c.text.assembly;
  EXPECT_FALSE(std::regex_search(c.text.assembly, std::regex(R"(\bcall\w*\s+[^\n]*\bexpf?\b)"))) << c.text.assembly;
  EXPECT_FALSE(std::regex_search(c.text.llvm_ir, std::regex(R"(call [^\n]*@expf?\()")));
}

TEST(CodegenLlvm, EveryTranscendentalVectorizesWithoutCalls) {
  for (ScalarType t : {kFloat32, kFloat64})
    for (Op op : kTranscendentals) {
      // Elementwise over a 2-D outer space, and inside a sum reduction.
      Builder b(std::string("vec_") + std::string(ir::op_name(op)), {3, 1000}, {});
      int ax = b.arg(t, 3000), out = b.arg(t, 3000, true);
      int at = b.affine({{0, 1000}, {1, 1}});
      int x = b.load(t, ax, at);
      std::vector<int> operands{x};
      if (op == Op::Pow) operands.push_back(b.constant(t, Scalar(1.5)));
      b.inner_store(out, at, b.ew(op, t, operands));
      CompiledKernel c = b.compile(true);
      std::string what = std::string(ir::op_name(op)) + " " + std::string(dtype_name(t));
      EXPECT_FALSE(std::regex_search(c.text.assembly, std::regex(R"(\n\s*call)"))) << what << "\n" << c.text.assembly;
      EXPECT_FALSE(std::regex_search(c.text.llvm_ir, std::regex(R"(call [^\n]*@(?!llvm\.))"))) << what;
      EXPECT_TRUE(std::regex_search(c.text.assembly, std::regex(R"(%zmm|%ymm)"))) << what;
      EXPECT_NE(c.text.llvm_ir.find(t == kFloat32 ? "x float>" : "x double>"), std::string::npos) << what;

      Builder r(std::string("vecsum_") + std::string(ir::op_name(op)), {3}, {1000});
      int ar = r.arg(t, 3000), sums = r.arg(t, 3, true);
      std::vector<int> ops2{r.load(t, ar, r.affine({{0, 1000}, {1, 1}}))};
      if (op == Op::Pow) ops2.push_back(r.constant(t, Scalar(2.5)));
      int red = r.reduce(Op::ReduceSum, t, r.ew(op, t, ops2));
      r.outer_store(sums, r.var(0), r.acc(t, red));
      CompiledKernel rc = r.compile(true);
      EXPECT_FALSE(std::regex_search(rc.text.assembly, std::regex(R"(\n\s*call)"))) << what << " (reduction)";
      EXPECT_NE(rc.text.llvm_ir.find(t == kFloat32 ? "x float>" : "x double>"), std::string::npos) << what;
    }
}

long double ref(Op op, long double x, long double y = 0) {
  switch (op) {
    case Op::Exp: return std::exp(x);
    case Op::Log: return std::log(x);
    case Op::Tanh: return std::tanh(x);
    case Op::Erf: return std::erf(x);
    case Op::Sin: return std::sin(x);
    case Op::Cos: return std::cos(x);
    case Op::Pow: return std::pow(x, y);
    default: return kNaN;
  }
}

// |got - want| in units of the last place of T at want (subnormal spacing below the normal range).
template <typename T>
double ulps(T got, long double want) {
  if (std::isnan(want) || std::isnan(got)) return std::isnan(want) == std::isnan(got) ? 0 : kInf;
  long double w = want;
  if (std::fabs(w) > std::numeric_limits<T>::max()) w = std::copysign((long double)kInf, w);  // rounds to inf
  if (std::isinf(w) || std::isinf(got)) return (long double)got == w ? 0 : kInf;
  int e;
  std::frexp(w, &e);
  e = std::max(e, std::numeric_limits<T>::min_exponent);
  long double ulp = std::ldexp(1.0L, e - std::numeric_limits<T>::digits);
  return double(std::fabs((long double)got - w) / ulp);
}

struct Errors {
  double max_ulp = 0, max_abs = 0;
  double worst_x = 0, worst_y = 0;
};

// Evaluates op over xs (and ys) with the compiled kernel and measures it against long double.
template <typename T>
Errors measure(Op op, const std::vector<T>& xs, const std::vector<T>* ys = nullptr) {
  std::vector<T> got = run_map<T, T>(op, xs, ys);
  Errors e;
  for (size_t q = 0; q < xs.size(); ++q) {
    long double want = ref(op, xs[q], ys ? (*ys)[q] : 0);
    double u = ulps<T>(got[q], want);
    double a = u == 0 ? 0 : std::isfinite(double(want)) ? double(std::fabs((long double)got[q] - want)) : kInf;
    if (u > e.max_ulp) e.max_ulp = u, e.worst_x = double(xs[q]), e.worst_y = ys ? double((*ys)[q]) : 0;
    e.max_abs = std::max(e.max_abs, a);
  }
  return e;
}

template <typename T>
std::vector<T> uniform(double lo, double hi, size_t n, uint32_t seed) {
  std::mt19937_64 rng(seed);
  std::uniform_real_distribution<double> d(lo, hi);
  std::vector<T> v(n);
  for (T& x : v) x = T(d(rng));
  return v;
}

// Every positive finite value is equally likely to come from any binade (random bit patterns).
template <typename T>
std::vector<T> positive_bits(size_t n, uint32_t seed) {
  using U = std::conditional_t<sizeof(T) == 4, uint32_t, uint64_t>;
  std::mt19937_64 rng(seed);
  std::vector<T> v;
  while (v.size() < n) {
    T x = std::bit_cast<T>(U(rng()) & (~U(0) >> 1));
    if (std::isfinite(x) && x > 0) v.push_back(x);
  }
  return v;
}

void report(const char* what, const Errors& e) {
  std::printf("%-34s max %.3f ulp (at x=%.9g y=%.9g), max abs %.3g\n", what, e.max_ulp, e.worst_x, e.worst_y,
              e.max_abs);
}

TEST(CodegenLlvm, ExpAccuracy) {
  Errors f = measure<float>(Op::Exp, uniform<float>(-88, 88, 1 << 20, 1));
  report("exp f32 [-88, 88]", f);
  EXPECT_LE(f.max_ulp, 1.5);
  Errors fs = measure<float>(Op::Exp, uniform<float>(-104, -87, 1 << 16, 2));  // subnormal results
  report("exp f32 [-104, -87] (subnormals)", fs);
  EXPECT_LE(fs.max_ulp, 1.0);
  Errors d = measure<double>(Op::Exp, uniform<double>(-708, 708, 1 << 20, 3));
  report("exp f64 [-708, 708]", d);
  EXPECT_LE(d.max_ulp, 1.5);
  Errors ds = measure<double>(Op::Exp, uniform<double>(-745.2, -707, 1 << 16, 4));
  report("exp f64 [-745, -707] (subnormals)", ds);
  EXPECT_LE(ds.max_ulp, 1.0);
}

TEST(CodegenLlvm, LogAccuracy) {
  Errors f = measure<float>(Op::Log, positive_bits<float>(1 << 20, 5));
  report("log f32 all positive floats", f);
  EXPECT_LE(f.max_ulp, 1.5);
  Errors f1 = measure<float>(Op::Log, uniform<float>(0.5, 2, 1 << 20, 6));
  report("log f32 [0.5, 2]", f1);
  EXPECT_LE(f1.max_ulp, 1.5);
  Errors d = measure<double>(Op::Log, positive_bits<double>(1 << 20, 7));
  report("log f64 all positive doubles", d);
  EXPECT_LE(d.max_ulp, 1.5);
  Errors d1 = measure<double>(Op::Log, uniform<double>(0.5, 2, 1 << 20, 8));
  report("log f64 [0.5, 2]", d1);
  EXPECT_LE(d1.max_ulp, 1.5);
}

TEST(CodegenLlvm, TanhAndErfAccuracy) {
  for (Op op : {Op::Tanh, Op::Erf}) {
    std::string name(ir::op_name(op));
    std::vector<float> xf = uniform<float>(-10, 10, 1 << 20, 9), xf1 = uniform<float>(-1.5, 1.5, 1 << 20, 10);
    xf.insert(xf.end(), xf1.begin(), xf1.end());
    Errors f = measure<float>(op, xf);
    report((name + " f32 [-10, 10]").c_str(), f);
    EXPECT_LE(f.max_abs, 2e-7) << name;
    std::vector<double> xd = uniform<double>(-10, 10, 1 << 20, 11), xd1 = uniform<double>(-1.5, 1.5, 1 << 20, 12);
    xd.insert(xd.end(), xd1.begin(), xd1.end());
    Errors d = measure<double>(op, xd);
    report((name + " f64 [-10, 10]").c_str(), d);
    EXPECT_LE(d.max_abs, 3e-16) << name;
    // Small arguments keep their relative accuracy.
    Errors fs = measure<float>(op, uniform<float>(-1e-3, 1e-3, 1 << 16, 13));
    report((name + " f32 [-1e-3, 1e-3]").c_str(), fs);
    EXPECT_LE(fs.max_ulp, 2.0) << name;
    Errors ds = measure<double>(op, uniform<double>(-1e-3, 1e-3, 1 << 16, 14));
    report((name + " f64 [-1e-3, 1e-3]").c_str(), ds);
    EXPECT_LE(ds.max_ulp, 2.0) << name;
  }
}

TEST(CodegenLlvm, SinCosAccuracy) {
  for (Op op : {Op::Sin, Op::Cos}) {
    std::string name(ir::op_name(op));
    for (double range : {10.0, 1e4, 1e8}) {
      Errors f = measure<float>(op, uniform<float>(-range, range, 1 << 19, 15));
      report((name + " f32 |x| <= " + std::to_string(range)).c_str(), f);
      EXPECT_LE(f.max_ulp, 1.0) << name << " " << range;
      Errors d = measure<double>(op, uniform<double>(-range, range, 1 << 19, 16));
      report((name + " f64 |x| <= " + std::to_string(range)).c_str(), d);
      EXPECT_LE(d.max_ulp, 2.0) << name << " " << range;
    }
  }
}

TEST(CodegenLlvm, PowAccuracy) {
  auto logu = [](double lo, double hi, size_t n, uint32_t seed) {
    std::vector<double> v = uniform<double>(std::log(lo), std::log(hi), n, seed);
    for (double& x : v) x = std::exp(x);
    return v;
  };
  {
    std::vector<double> x = logu(1e-3, 1e3, 1 << 20, 17), y = uniform<double>(-12, 12, 1 << 20, 18);
    std::vector<float> xf(x.begin(), x.end()), yf(y.begin(), y.end());
    Errors f = measure<float>(Op::Pow, xf, &yf);
    report("pow f32 x in [1e-3, 1e3], |y| <= 12", f);
    EXPECT_LE(f.max_ulp, 1.0);
    Errors d = measure<double>(Op::Pow, x, &y);
    report("pow f64 x in [1e-3, 1e3], |y| <= 12", d);
    EXPECT_LE(d.max_ulp, 2.0);
  }
  {  // near 1 with large exponents: needs the double-double logarithm
    std::vector<double> x = uniform<double>(0.5, 2, 1 << 20, 19), y = uniform<double>(-1000, 1000, 1 << 20, 20);
    Errors d = measure<double>(Op::Pow, x, &y);
    report("pow f64 x in [0.5, 2], |y| <= 1000", d);
    EXPECT_LE(d.max_ulp, 2.0);
    std::vector<float> xf(x.begin(), x.end()), yf = uniform<float>(-120, 120, 1 << 20, 21);
    Errors f = measure<float>(Op::Pow, xf, &yf);
    report("pow f32 x in [0.5, 2], |y| <= 120", f);
    EXPECT_LE(f.max_ulp, 1.0);
  }
  {  // negative bases with integer exponents
    std::vector<double> x = uniform<double>(-30, 30, 1 << 16, 22), y = uniform<double>(-40, 40, 1 << 16, 23);
    for (double& v : y) v = std::round(v);
    Errors d = measure<double>(Op::Pow, x, &y);
    report("pow f64 x in [-30, 30], integer y", d);
    EXPECT_LE(d.max_ulp, 2.0);
    std::vector<float> xf(x.begin(), x.end()), yf(y.begin(), y.end());
    Errors f = measure<float>(Op::Pow, xf, &yf);
    report("pow f32 x in [-30, 30], integer y", f);
    EXPECT_LE(f.max_ulp, 1.0);
  }
}

template <typename T>
void check_special_values() {
  const double m = double(std::numeric_limits<T>::max()), tiny = double(std::numeric_limits<T>::denorm_min());
  const std::vector<double> specials{0.0, -0.0, kInf, -kInf, kNaN, 1.0, -1.0, 0.5, -0.5, 2.0, -2.0, 3.0, -3.0,
                                     tiny, -tiny, m, -m, 1e-30, 100.0, -100.0, 1000.0, -1000.0, 0.75};
  std::vector<T> xs, ys;
  for (double x : specials) xs.push_back(T(x));
  for (Op op : kTranscendentals) {
    if (op == Op::Pow) {
      std::vector<T> px, py;
      for (double x : specials)
        for (double y : specials) px.push_back(T(x)), py.push_back(T(y));
      std::vector<T> got = run_map<T, T>(op, px, &py);
      for (size_t q = 0; q < px.size(); ++q) {
        T want = std::pow(px[q], py[q]);
        bool ok = std::isnan(want) ? std::isnan(got[q])
                  : (std::isinf(want) || want == 0) ? (got[q] == want && std::signbit(got[q]) == std::signbit(want))
                                                    : ulps<T>(got[q], (long double)want) <= 2;
        EXPECT_TRUE(ok) << "pow(" << px[q] << ", " << py[q] << ") = " << got[q] << ", want " << want;
      }
      continue;
    }
    std::vector<T> got = run_map<T, T>(op, xs);
    for (size_t q = 0; q < xs.size(); ++q) {
      if ((op == Op::Sin || op == Op::Cos) && std::isfinite(xs[q]) && std::fabs(xs[q]) > 1e8) {
        EXPECT_LE(std::fabs(got[q]), T(1)) << ir::op_name(op) << "(" << xs[q] << ") is outside the accurate range, "
                                            << "but must stay bounded";
        continue;
      }
      T want = T(ref(op, xs[q]));
      bool ok = std::isnan(want) ? std::isnan(got[q])
                : (std::isinf(want) || want == 0) ? (got[q] == want && std::signbit(got[q]) == std::signbit(want))
                                                  : ulps<T>(got[q], ref(op, xs[q])) <= 2;
      EXPECT_TRUE(ok) << ir::op_name(op) << "(" << xs[q] << ") = " << got[q] << ", want " << want;
    }
  }
}

TEST(CodegenLlvm, SpecialValues) {
  check_special_values<float>();
  check_special_values<double>();
}

}  // namespace
}  // namespace kiln::codegen
