// Stands in for epoch_torch.cc when LibTorch is not built in.
#include "benchmarks/epoch_common.h"

namespace epoch_bench {
double torch_epoch_seconds(Model, int, int64_t) { return -1; }
std::string torch_info() { return "not built in (no LibTorch found by @torch)"; }
}  // namespace epoch_bench
