// A generator of random graphs for differential tests: random shapes (including size 1 and odd
// sizes), every dtype, broadcasting, reductions over random axes, softmax and movement ops.
// build() records the same graph each time it is called (evaluation consumes a graph, so each
// executor under test gets its own copy). A differentiable generator keeps to float64 and small
// shapes, and build(input) grows the graph from a given input of input_shape(), for gradient
// checks against finite differences. One made with `reduced_floats` also draws float16 and
// bfloat16 leaves (a separate option, so the graphs of existing seeds stay as they were). A
// generator for a device makes its leaves there.
#pragma once

#include <functional>
#include <random>

#include "kiln/kiln.h"

namespace kiln::testing {

class RandomGraph {
 public:
  explicit RandomGraph(uint32_t seed, bool differentiable = false, bool reduced_floats = false,
                       kiln::Device device = kiln::kCPU)
      : rng_(seed),
        seed_(seed),
        differentiable_(differentiable),
        reduced_floats_(reduced_floats),
        real_(differentiable ? kFloat64 : kFloat32),
        device_(device) {}

  kiln::Tensor build() {
    start();
    return grow(leaf());
  }
  kiln::Shape input_shape() {
    start();
    return random_shape();
  }
  // Called with each intermediate value as the graph grows: a test may read it (data_ptr, item,
  // printing) before differentiating, as a user inspecting a model does.
  using Observer = std::function<void(const kiln::Tensor&)>;
  kiln::Tensor build(const kiln::Tensor& input, const Observer& observe = nullptr) {
    start();
    random_shape();
    return grow(input, observe);
  }

 private:
  void start() {
    rng_.seed(seed_);
    kiln::manual_seed(seed_);
  }
  kiln::Tensor grow(kiln::Tensor x, const Observer& observe = nullptr) {
    int steps = pick(2, 8);
    for (int i = 0; i < steps; ++i) {
      x = step(x);
      if (observe) observe(x);
    }
    return x;
  }

  int pick(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool coin() { return pick(0, 1) == 1; }

  kiln::Shape random_shape() {
    static const int64_t sizes[] = {1, 2, 3, 5, 7, 16, 33};
    kiln::Shape s(pick(0, 3));
    for (int64_t& d : s) d = sizes[pick(0, differentiable_ ? 2 : 6)];
    return s;
  }

  // Random values on the graph's device: Philox streams are the same on every device.
  kiln::Tensor leaf(kiln::Shape shape) {
    kiln::TensorOptions on = kiln::device(device_), f64 = on.dtype(kiln::kFloat64);
    if (differentiable_) return kiln::randn(shape, f64);
    switch (pick(0, reduced_floats_ ? 6 : 4)) {
      case 5: return kiln::randn(shape, on).to(kiln::kFloat16);
      case 6: return kiln::randn(shape, on).to(kiln::kBFloat16);
      case 0: return kiln::randn(shape, f64);
      case 1: return (kiln::rand(shape, on) * 10).to(kiln::kInt32);
      case 2: return (kiln::rand(shape, on) * 100).to(kiln::kInt64) - 50;
      case 3: return kiln::randn(shape, on) > 0.2;
      default: return kiln::randn(shape, on);
    }
  }
  kiln::Tensor leaf() { return leaf(random_shape()); }

  // A shape that broadcasts against `s`: some axes set to 1, maybe some leading ones dropped.
  kiln::Shape broadcastable(const kiln::Shape& s) {
    kiln::Shape out(s.begin() + pick(0, static_cast<int>(s.size())), s.end());
    for (int64_t& d : out)
      if (coin()) d = 1;
    return out;
  }

  kiln::Tensor step(const kiln::Tensor& x) {
    int64_t rank = x.dim();
    switch (pick(0, 11)) {
      case 0: return x.to(real_).tanh();
      case 1: return (x.to(kiln::kFloat64).abs() + 1).log();
      case 2: return kiln::sigmoid(x) * 3 - x.to(real_);
      case 3: return x + leaf(broadcastable(x.sizes()));
      case 4: return x * leaf(broadcastable(x.sizes()));
      case 5: return kiln::where(x > leaf(broadcastable(x.sizes())), x, kiln::zeros_like(x));
      case 6: {
        if (rank == 0 || x.numel() == 0) return x * 2;  // max over an empty axis has no value
        std::vector<int64_t> dims = {pick(0, static_cast<int>(rank) - 1)};
        if (rank > 1 && coin()) dims.push_back((dims[0] + 1) % rank);
        switch (pick(0, 3)) {
          case 0: return x.sum(dims, coin());
          case 1: return std::get<0>(x.max(dims[0], coin()));
          case 2: {  // min and argmin together: one kernel computes both
            auto [least, at] = x.min(dims[0], coin());
            return least + at.to(x.dtype());
          }
          default: return x.to(real_).mean(dims, coin());
        }
      }
      case 7: return rank == 0 ? x : kiln::softmax(x.to(real_), pick(0, static_cast<int>(rank) - 1));
      case 8: return rank < 2 ? x.unsqueeze(0).expand({3, -1}) : x.transpose(0, rank - 1);
      case 9: {
        if (rank == 0) return x.reshape({1, 1});
        int64_t d = pick(0, static_cast<int>(rank) - 1);
        return x.slice(d, pick(0, 1), std::nullopt, pick(1, 3));
      }
      case 10: return rank == 0 ? x.unsqueeze(0) : x.flatten();
      default: return rank == 0 ? x : kiln::cat({x, x * 2}, pick(0, static_cast<int>(rank) - 1));
    }
  }

  std::mt19937 rng_;
  uint32_t seed_;
  bool differentiable_;
  bool reduced_floats_;
  kiln::ScalarType real_;  // the floating dtype steps convert to
  kiln::Device device_;    // where the leaves are made
};

}  // namespace kiln::testing
