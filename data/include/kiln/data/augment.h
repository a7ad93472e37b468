// Random augmentation of image examples ([C, H, W] or [H, W]), as torchvision's RandomCrop and
// RandomHorizontalFlip. They run on the host in the data loader's workers (an example is a few
// hundred values): a random offset per example recorded into the graph would give every batch
// a new structure and a new compile. Draws come from the transform's own generator, seeded at
// construction; with workers(0) a run is reproducible.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <vector>

#include "kiln/data/dataset.h"

namespace kiln::data::transforms {

namespace detail {
// A generator shared by copies of a transform (the loader moves its dataset around).
class SharedRandom {
 public:
  explicit SharedRandom(uint64_t seed) : state_(std::make_shared<State>(seed)) {}
  int64_t uniform_int(int64_t low, int64_t high);  // in [low, high]
  bool bernoulli(double p);

 private:
  struct State {
    explicit State(uint64_t seed) : engine(seed) {}
    std::mutex mutex;
    std::mt19937_64 engine;
  };
  std::shared_ptr<State> state_;
};

// The example's image as float values, with its channel count, height and width.
struct Image {
  std::vector<float> values;
  int64_t channels, height, width;
  std::vector<int64_t> shape;  // as given
};
Image read_image(const Tensor& t, const char* op);
Tensor make_tensor(const Image& image, ScalarType dtype);
}  // namespace detail

// A transform of each example's image, applied to a batch (Self provides operator()(image)).
template <typename Self>
class ImageTransform {
 public:
  template <typename Target>
  std::vector<Example<Tensor, Target>> apply_batch(std::vector<Example<Tensor, Target>> batch) {
    for (auto& e : batch) e.data = static_cast<Self&>(*this)(e.data);
    return batch;
  }
};

// Pads each side by `padding` (zeros) and crops a size x size window at a random position.
class RandomCrop : public ImageTransform<RandomCrop> {
 public:
  RandomCrop(int64_t size, int64_t padding = 0, uint64_t seed = 0) : size_(size), padding_(padding), random_(seed) {}
  Tensor operator()(const Tensor& image);

 private:
  int64_t size_, padding_;
  detail::SharedRandom random_;
};

// Mirrors each image left to right with probability p.
class RandomHorizontalFlip : public ImageTransform<RandomHorizontalFlip> {
 public:
  explicit RandomHorizontalFlip(double p = 0.5, uint64_t seed = 0) : p_(p), random_(seed) {}
  Tensor operator()(const Tensor& image);

 private:
  double p_;
  detail::SharedRandom random_;
};

}  // namespace kiln::data::transforms
