// Graphs as MLIR: each Kiln graph becomes a `func.func` over ranked tensors built from MLIR 19's
// upstream dialects (func, arith, math, tensor, linalg) with MLIR's own C++ builders, verified,
// and printed with every op's location (the user's file:line, and the composite op it belongs to
// as a name location). Upstream `mlir-opt` can then bufferize and lower it, and `mlir-cpu-runner`
// run it: an independent implementation of Kiln's semantics (tests/mlir_export_test.cc) and the
// way Kiln graphs reach MLIR's tools. This header includes nothing from MLIR.
#pragma once

#include <string>
#include <vector>

#include "ir/node.h"

namespace kiln::codegen::mlir {

struct ExportedGraph {
  std::string name;                  // the function's symbol, e.g. "graph"
  std::vector<ir::NodePtr> outputs;  // its results, in order
};

struct ExportOptions {
  // Adds `func.func @main()`, which calls each graph on the values its input buffers hold now and
  // prints each output with the runner utilities' printMemrefI64 as a flat vector of the
  // elements' bits (floats bitcast, integers sign- or zero-extended), so a test reads the exact
  // results mlir-cpu-runner computed.
  bool main = false;
};

// One module holding a function per graph. A graph's arguments are its buffers in topological
// order (runtime scalars are constants: their value is part of the graph); random ops have no
// upstream equivalent and are a kiln::Error naming the op and its source line, as is a module the
// MLIR verifier rejects.
std::string export_module(const std::vector<ExportedGraph>& graphs, const ExportOptions& options = {});

// The arguments export_module gives a graph with these outputs, in order.
std::vector<const ir::Node*> graph_arguments(const std::vector<ir::NodePtr>& outputs);

}  // namespace kiln::codegen::mlir
