// Shared by the per-epoch benchmark's parts (Kiln, LibTorch): one epoch of Fashion-MNIST training
// data in a fixed shuffled order, and the training settings. Plain C++: no Kiln or LibTorch here.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace epoch_bench {

inline constexpr int64_t kBatch = 64;
inline constexpr double kLr = 0.01, kMomentum = 0.9;
enum class Model { Mlp, Cnn };

// The 60,000 training images ([N, 1, 28, 28], normalized) and labels, shuffled once with a
// fixed seed: both frameworks see the same batches in the same order. Steps: N / kBatch.
struct EpochData {
  std::vector<float> images;
  std::vector<int64_t> labels;
  int64_t examples = 0;
  int64_t steps() const { return examples / kBatch; }
};
const EpochData& epoch_data();

// LibTorch's side (epoch_torch.cc, or a stub without LibTorch): seconds for `steps` SGD steps of
// the same model on the same batches with `threads` intra-op threads; negative when not built in.
double torch_epoch_seconds(Model model, int threads, int64_t steps);
std::string torch_info();

}  // namespace epoch_bench
