// The kernel IR: a backend-neutral, loop-level description of one fused kernel. Fusion lowers a
// group of graph nodes to one Kernel; each backend (LLVM for the CPU, CUDA C later) lowers a
// Kernel to native code. Nothing here is CPU-specific.
//
// A kernel iterates over an `outer` index space (every point independent: backends parallelize
// over it) and, for reductions, an `inner` space at each outer point:
//
//   for each outer point o:                      (parallel)
//     for each reduction r, in order:            acc_r = identity
//       for each inner point i: acc_r = combine(acc_r, value_r(o, i)); r's stores
//     for each inner point i: inner stores       (may read every acc_r)
//     outer stores                               (may read every acc_r)
//
// A reduction's stores keep a costly per-element value (softmax's exp) in the output while the
// reduction computes it; the inner stores then load it back instead of computing it again, so
// each element's transcendental runs once and the input is not read after the reductions.
//
// A kernel may write several outputs (Arg::output; lowering puts them last), e.g. a masked
// gradient stored by the reduction that sums it.
//
// Loop variables are numbered outer axes first, then inner axes. Values form a DAG in
// `values`, each entry after its operands. Index arithmetic is a separate DAG of int64 nodes.
//
// One loop variable may have a runtime extent (codegen/runtime_extent.h): its extent is passed
// at launch, so one compiled kernel serves every batch size.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ir/dtype.h"
#include "ir/error.h"
#include "ir/op.h"
#include "ir/scalar.h"
#include "ir/shape.h"

namespace kiln::codegen {

// int64 index arithmetic over loop variables; FloorDiv and Mod round toward negative infinity
// (their operands are non-negative except at coordinates a pad or concat discards).
struct IndexNode {
  enum Kind : uint8_t { Var, Const, Add, Mul, FloorDiv, Mod } kind;
  int64_t value = 0;  // Var: loop variable number; Const: the constant
  int a = -1, b = -1; // operands (ids in Kernel::indices)
  bool operator==(const IndexNode&) const = default;
};

struct ValueNode {
  enum Kind : uint8_t {
    Load,          // args[arg] at index `index`; 0 where the index leaves the argument (pad, concat)
    Constant,      // `constant`
    IndexValue,    // the value of index `index`, converted to dtype (iota)
    InRange,       // bool: lo <= index < hi (`lo`, `hi`), for pad and concat
    Elementwise,   // `op` (unary, binary, compare, where or cast) over `operands`
    Accumulator,   // the result of reductions[reduction]
    Random,        // element `index` of a Philox stream (ir/philox.h): args[arg] holds {seed, offset}
  } kind;
  ScalarType dtype;
  ir::Op op = ir::Op::Add;    // Elementwise
  std::vector<int> operands;  // Elementwise: value ids
  int arg = -1;               // Load
  int index = -1;             // Load, IndexValue, InRange
  int64_t lo = 0, hi = 0;     // InRange
  Scalar constant;            // Constant
  int reduction = -1;         // Accumulator
  ir::Distribution distribution = ir::Distribution::Uniform;  // Random
  bool operator==(const ValueNode&) const = default;
};

// A reduction over the inner space. ArgMax and ArgMin keep the extreme of `value` (compared as
// `dtype`) and the `position` (an index) where they first met it (ir::arg_replaces); their
// accumulator reads as that int64 position.
struct Store {
  int arg;
  int index;  // Inner stores may use inner loop variables; outer stores only outer ones
  int value;
  bool operator==(const Store&) const = default;
};

struct Reduction {
  ir::Op op;         // ReduceSum, ReduceMax, ReduceMin, ArgMax or ArgMin
  ScalarType dtype;  // the type values are combined (or compared) in
  int value;         // evaluated at each inner point
  int position = -1; // ArgMax, ArgMin: the index recorded with the extreme
  std::vector<Store> stores;  // run at each inner point of this reduction's loop, after combining
  bool operator==(const Reduction&) const = default;
};

// The type an Accumulator of `r` reads as.
inline ScalarType accumulator_dtype(const Reduction& r) { return ir::is_arg_reduction(r.op) ? kInt64 : r.dtype; }

struct Arg {
  ScalarType dtype;
  int64_t numel;        // with `scaled`: elements per unit of the runtime extent
  bool output;
  bool scaled = false;  // holds numel * (runtime extent) elements
  // A launch-time value in host memory (a runtime scalar's element, a random node's {seed,
  // offset}): the CPU reads it through its pointer, a GPU kernel takes it by value, so a new
  // learning rate or dropout seed neither compiles nor copies anything to the device.
  bool by_value = false;
  bool operator==(const Arg&) const = default;
};

struct Kernel {
  std::string name;  // unique per distinct kernel (derived from its structural hash)
  std::vector<Arg> args;
  Shape outer;
  Shape inner;
  std::vector<IndexNode> indices;
  std::vector<ValueNode> values;
  std::vector<Reduction> reductions;
  std::vector<Store> inner_stores;
  std::vector<Store> outer_stores;
  // The loop variable whose extent is a launch argument, or -1; its entry in outer/inner is then
  // kRuntimeExtent.
  int runtime_var = -1;
  // Per value: the user's line it computes (printed as `loc(file:line)`, and the CPU code's debug
  // locations), or an empty location. Not structure: kernels from different lines that compute
  // alike compare equal and share one compiled function.
  std::vector<SourceLoc> locs;
  bool operator==(const Kernel& o) const;  // structure only: the name and locs are ignored
};

// Drops index and value nodes nothing reads (lowering folds leave some), renumbering the rest in
// order: kernels that compute alike then compare equal.
void remove_unused(Kernel& k);

// Consecutive reductions that do not read each other's results, as [start, stop) ranges of
// Kernel::reductions: each backend folds a group in one loop over the inner space.
std::vector<std::pair<size_t, size_t>> reduction_groups(const Kernel& k);

// A hash of the kernel's structure (not its name): equal kernels hash equally.
uint64_t structural_hash(const Kernel& k);

// The kernel in a readable text form (the KILN_DUMP=kernels format).
std::string print_kernel(const Kernel& k);

// The entry of Kernel::outer or inner whose extent is given at launch.
constexpr int64_t kRuntimeExtent = -1;

// Calling convention shared by every backend: args[i] points at argument i's memory, extents[0]
// is the runtime extent (unread when the kernel has none); the kernel computes outer points
// [begin, end) of the flattened outer space.
using KernelFn = void (*)(void* const* args, const int64_t* extents, int64_t begin, int64_t end);

}  // namespace kiln::codegen
