// Stands in for torch_bench.cc when LibTorch is not built in: no LibTorch columns.
#include "benchmarks/bench_common.h"

namespace kiln_bench {

bool TorchBuiltIn() { return false; }
void RegisterTorchBenchmarks(Work) {}
std::string TorchInfo() { return "not built in (no LibTorch found by @torch, or --define kiln_bench_torch=off)"; }

}  // namespace kiln_bench
