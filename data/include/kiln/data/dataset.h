// kiln::data, LibTorch's shape: an Example is a (data, target) pair; a Dataset<Self> gives one
// by index and its size; `.map(transform)` wraps it (MapDataset), a per-example tensor transform
// (Normalize) or a collation of a batch of examples into one (Stack).
#pragma once

#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

#include "kiln/kiln.h"

namespace kiln::data {

template <typename Data = Tensor, typename Target = Tensor>
struct Example {
  using DataType = Data;
  using TargetType = Target;
  Example() = default;
  Example(Data data, Target target) : data(std::move(data)), target(std::move(target)) {}
  Data data;
  Target target;
};

template <typename Source, typename Transform>
class MapDataset;

// The base of a dataset of single examples: get(i) and size(); get_batch(indices) collects them.
template <typename Self, typename SingleExample = Example<>>
class Dataset {
 public:
  using ExampleType = SingleExample;
  using BatchType = std::vector<SingleExample>;
  virtual ~Dataset() = default;
  virtual SingleExample get(size_t index) = 0;
  virtual std::optional<size_t> size() const = 0;
  virtual BatchType get_batch(const std::vector<size_t>& indices) {
    BatchType batch;
    batch.reserve(indices.size());
    for (size_t i : indices) batch.push_back(get(i));
    return batch;
  }
  template <typename Transform>
  MapDataset<Self, Transform> map(Transform transform) && {
    return MapDataset<Self, Transform>(std::move(static_cast<Self&>(*this)), std::move(transform));
  }
  template <typename Transform>
  MapDataset<Self, Transform> map(Transform transform) & {
    return MapDataset<Self, Transform>(static_cast<Self&>(*this), std::move(transform));
  }
};

// `source` with `transform` applied to each batch it gives (transforms::apply_batch).
template <typename Source, typename Transform>
class MapDataset {
 public:
  using BatchType = decltype(std::declval<Transform&>().apply_batch(std::declval<typename Source::BatchType>()));
  MapDataset(Source source, Transform transform) : source_(std::move(source)), transform_(std::move(transform)) {}
  BatchType get_batch(const std::vector<size_t>& indices) { return transform_.apply_batch(source_.get_batch(indices)); }
  std::optional<size_t> size() const { return source_.size(); }
  template <typename Next>
  MapDataset<MapDataset, Next> map(Next next) && {
    return MapDataset<MapDataset, Next>(std::move(*this), std::move(next));
  }
  const Source& dataset() const { return source_; }

 private:
  Source source_;
  Transform transform_;
};

namespace transforms {

// (data - mean) / stddev per example, as torch::data::transforms::Normalize<>.
template <typename Target = Tensor>
class Normalize {
 public:
  Normalize(double mean, double stddev) : mean_(mean), stddev_(stddev) {}
  std::vector<Example<Tensor, Target>> apply_batch(std::vector<Example<Tensor, Target>> batch) {
    for (auto& e : batch) e.data = e.data.sub(mean_).div(stddev_);
    return batch;
  }

 private:
  double mean_, stddev_;
};

// A batch of examples as one example of stacked tensors, as torch::data::transforms::Stack<>.
template <typename ExampleType = Example<>>
class Stack {
 public:
  ExampleType apply_batch(std::vector<ExampleType> batch) {
    std::vector<Tensor> data, targets;
    data.reserve(batch.size());
    targets.reserve(batch.size());
    for (auto& e : batch) data.push_back(std::move(e.data)), targets.push_back(std::move(e.target));
    return {kiln::stack(data), kiln::stack(targets)};
  }
};

}  // namespace transforms
}  // namespace kiln::data
