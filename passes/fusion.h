// Fusion: partitions a graph into kernels. Every node that is not a source is either the root
// of a kernel (its value is materialized in a buffer), inlined into the kernels that use it
// (recomputed there), or an extern step (matmul, a device transfer) run by a library
// routine.
//
// The rules, in order:
// - Graph outputs, extern nodes and the non-buffer inputs of extern nodes are materialized, except
//   that a floating matmul reads an operand that swaps its last two axes (x.t()) as its input,
//   transposed (BLAS takes transposed operands), instead of materializing the transpose.
// - `full`, `iota` and `random` are always inlined: index arithmetic, and a random stream is a
//   pure function of seed, offset and element index (each kernel recomputes the same values).
//   So are runtime scalars (a one-element buffer, broadcast): a kernel reads one into a register,
//   and such reads do not count toward kMaxRecomputeReads.
// - Elementwise and movement nodes are inlined into every kernel that uses them. A node with
//   several users is recomputed by each when cheap: its inlined expression has at most
//   kMaxRecomputeOps ops and reads at most kMaxRecomputeReads buffers; otherwise it is
//   materialized once. A node broadcast to a larger shape is materialized when its inlined
//   expression has more than kMaxBroadcastRecomputeOps ops (each copy would recompute it).
// - A materialized reshape materializes its input instead (unless a source), and takes that
//   buffer as its own value without a kernel.
// - A reduction is absorbed into the one kernel that consumes it (as an accumulator computed
//   in that kernel's inner loop) when every use of it lies in that kernel, it reduces that
//   kernel's domain over the same axes, and each use reads it at the kernel's own outer point
//   (through elementwise ops, broadcasts and size-1 reshapes). The kernel's root either spans
//   the domain (softmax's normalization) or has the reduction's result shape (an epilogue, as
//   mean's division), stored once per outer point. Otherwise the reduction is materialized by a
//   kernel of its own.
// - A node whose inlined expression would be deeper than kMaxInlineDepth is materialized, which
//   bounds the size of every kernel (and the time to compile it) on long chains.
// - A materialized elementwise value that a later kernel reads at that kernel's own point (every
//   axis of its domain, reduced axes included) is written by that kernel as an extra output,
//   computed where the kernel reads it, instead of by a kernel of its own: a bias gradient's
//   column sum writes the ReLU-masked gradient it sums, and an optimizer writes its state and
//   the parameter in one pass. Values read through such an extra output merge too (RMSprop's
//   averages, read by its momentum). The merged kernel runs at the first of its outputs' places
//   in the order, so everything else it reads must be computed before that place, and the depths
//   of the merged expressions add up to at most kMaxInlineDepth. Only kernels without absorbed
//   reductions take extra outputs (an elementwise root over its domain, or one reduction), and
//   only elementwise kernels give theirs.
// With fusion off, every non-source node is materialized by a kernel of its own.
#pragma once

#include <unordered_map>
#include <vector>

#include "ir/node.h"

namespace kiln::passes {

inline constexpr int kMaxRecomputeOps = 32;
inline constexpr int kMaxRecomputeReads = 3;
inline constexpr int kMaxBroadcastRecomputeOps = 8;
inline constexpr int kMaxInlineDepth = 64;

struct FusedGroup {
  // Alias: a reshape of a value an earlier group computes takes that value's buffer (row-major
  // order is unchanged): no kernel runs.
  enum Kind { Kernel, Extern, Alias } kind;
  const ir::Node* root;                            // the materialized node
  Shape domain;                                    // Kernel: the iteration space
  std::vector<int64_t> reduce_axes;                // Kernel: axes of `domain` reduced in the inner loop
  std::vector<const ir::Node*> reductions;         // Kernel: absorbed reductions, in execution order
  std::vector<const ir::Node*> extra_outputs;      // Kernel: other materialized nodes it writes
  std::vector<const ir::Node*> operands;           // Extern: the values it reads, one per input
  std::vector<bool> transposed;                    // Extern: operand i is input i with its last two axes swapped
};

struct FusionPlan {
  std::vector<FusedGroup> groups;  // in execution order
  // Whether a node's value lives in a buffer (graph inputs, group roots and extra outputs).
  bool materialized(const ir::Node* n) const { return n->is_buffer() || roots.count(n); }
  std::unordered_map<const ir::Node*, size_t> roots;  // root or extra output -> index in groups
};

// `order` is the graph's topological order (ir::topological_order of `outputs`).
FusionPlan plan_fusion(const std::vector<const ir::Node*>& order, const std::vector<const ir::Node*>& outputs,
                       bool fuse);

}  // namespace kiln::passes
