// KILN_DUMP=graph,fused,kernels,llvm,asm,cuda,ptx,backward (any subset; `all` for every one) with
// KILN_DUMP_DIR=dir (default: the working directory) writes, for the N-th backward or
// autograd::grad call:
//   backwardN.ir       the forward graph with the gradient nodes the transform appended, each
//                      tagged with the forward node whose rule built it       (backward)
//                      (each distinct one once; every one with `every`)
// and for the N-th dumped graph (each graph compiled: the first evaluation of each schedule; with
// `every` in the list, every evaluation):
//   graphN.ir          the graph as recorded            (graph)
//   graphN.after.ir    the graph after simplification   (graph)
//   graphN.fused.txt   each kernel or extern step, the %nodes of graphN.after.ir it computes,
//                      its arguments, and their source locations (fused)
// each starting with a comment line that says why the graph was evaluated ("backward() at
// model.cc:12"), set by the front end with an EvaluationCause.
// and for each kernel NAME it ran (NAME is a hash of the kernel's structure, so the same kernel
// has the same files in every graph): NAME.kernel.txt (kernel IR), on the CPU NAME.ll (optimized
// LLVM IR) and NAME.s (assembly), on a GPU NAME.cu (CUDA C) and NAME.ptx. Every file but the LLVM
// IR, assembly, CUDA C and PTX reads back into kiln-opt.
// manifest.jsonl gets one JSON object per line for each graph or backward dumped: its files, why
// it was evaluated, the kernels it ran with theirs, and a kiln-opt command that replays it
// (docs/DEBUGGING.md).
#pragma once

#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "codegen/kernel.h"
#include "runtime/backend.h"
#include "runtime/schedule.h"
#include "ir/node.h"

namespace kiln::runtime {

struct DumpOptions {
  bool graph = false, fused = false, kernels = false, llvm = false, assembly = false, backward = false;
  bool cuda = false, ptx = false;  // a CUDA kernel's CUDA C (.cu) and PTX (.ptx)
  bool every = false;  // every evaluation, not only the first of each schedule
  bool log_compiles = false;  // KILN_LOG=compile: each schedule built and kernel compiled, on stderr
  std::string dir = ".";
  bool any() const { return graph || fused || kernels || llvm || assembly || cuda || ptx; }  // of an evaluation
  bool wants_code() const { return llvm || assembly || cuda || ptx; }
  // Whether a compiled kernel's text form with this extension is wanted.
  bool wants(const std::string& extension) const;
};

// Read once from the environment.
const DumpOptions& dump_options();

// Why this thread is evaluating ("backward() at model.cc:12"): the outermost cause set wins, as
// that is the call the user made. Empty when no front-end call said.
class EvaluationCause {
 public:
  explicit EvaluationCause(std::string what);
  ~EvaluationCause();
  EvaluationCause(const EvaluationCause&) = delete;
  EvaluationCause& operator=(const EvaluationCause&) = delete;

 private:
  bool set_;
};
const std::string& evaluation_cause();

// One step of a plan as `fused` lists it: its root, the step, and for a kernel the node each
// argument reads (the last one is the root, which it writes).
struct PlannedStep {
  const ir::Node* root;
  std::vector<const ir::Node*> extra_outputs;
  const ScheduleStep* step;
  std::vector<const ir::Node*> args;
};
// The `fused` listing of a plan over `graph` (the graph after the passes).
std::string describe_fusion(const std::vector<const ir::Node*>& graph, const std::vector<PlannedStep>& steps);

// The code of one kernel an evaluation ran.
struct RanKernel {
  const codegen::Kernel* kernel;
  std::vector<Artifact> artifacts;  // its backend's text forms (runtime/backend.h), when asked for
};
// Whether an evaluation by `schedule` is dumped: its first one (or every one, with `every`).
bool dumps_evaluation(const std::shared_ptr<const Schedule>& schedule);
void dump_evaluation(const std::vector<const ir::Node*>& recorded, const std::string& simplified_ir,
                     const std::string& fusion, const std::vector<RanKernel>& kernels);

// The graph from `outputs` and `grads` with each gradient node tagged by `origins`.
void dump_backward(const std::vector<ir::NodePtr>& outputs, const std::vector<ir::NodePtr>& grads,
                   const std::unordered_map<const ir::Node*, const ir::Node*>& origins);

}  // namespace kiln::runtime
