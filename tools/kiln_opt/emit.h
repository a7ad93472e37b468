// kiln-opt's outputs: the graph (ir), the kernel IR of its fusion plan (kernels), each kernel's
// optimized LLVM IR (llvm) and host assembly (asm), its CUDA C (cuda) and PTX (ptx, through
// NVRTC), a Graphviz drawing (dot, or svg rendered by Graphviz's `dot`), and the graph as
// upstream MLIR (mlir: func/arith/math/tensor/linalg, with source locations).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "tools/kiln_opt/module.h"

namespace kiln::tools {

struct EmitOptions {
  bool fuse = true;   // plan with fusion (when --fuse did not plan already)
  int arch = 90;      // compute capability for ptx
  bool time = false;  // each kernel's compile time on stderr
};

const std::vector<std::string>& emit_formats();

// Writes `m` as `format`; throws std::runtime_error for what this machine cannot produce (ptx
// without NVRTC, svg without Graphviz).
void emit(const Module& m, const std::string& format, const EmitOptions& options, std::ostream& out);

// Kernels read from kernel-IR text (a KILN_DUMP .kernel.txt) as kernels, llvm, asm, cuda or ptx.
void emit_kernels(const std::vector<codegen::Kernel>& kernels, const std::string& format, const EmitOptions& options,
                  std::ostream& out);

// The graph as Graphviz DOT: a cluster per fused kernel, nodes coloured by kernel and labelled
// with op, type and source line, edges with the value's type.
std::string graph_dot(const Module& m, const Module::Plan& plan);

}  // namespace kiln::tools
