// make_data_loader<Sampler>(dataset, DataLoaderOptions().batch_size(64).workers(2)), iterated
// as `for (auto& batch : *loader)`, as LibTorch's: a sampler orders the indices each epoch
// (RandomSampler: a new permutation from Kiln's seeded generator; SequentialSampler: in order),
// the dataset makes each batch, and with workers > 0 a thread prepares (and evaluates) the next
// batch while the current step runs.
#pragma once

#include <algorithm>
#include <future>
#include <memory>
#include <optional>
#include <vector>

#include "kiln/data/dataset.h"

namespace kiln::data {

struct DataLoaderOptions {
  DataLoaderOptions() = default;
  explicit DataLoaderOptions(size_t batch_size) : batch_size_(batch_size) {}
  DataLoaderOptions& batch_size(size_t n) { batch_size_ = n; return *this; }
  DataLoaderOptions& workers(size_t n) { workers_ = n; return *this; }
  DataLoaderOptions& drop_last(bool d) { drop_last_ = d; return *this; }
  size_t batch_size_ = 1, workers_ = 0;
  bool drop_last_ = false;
};

namespace samplers {

// 0..n-1 in order.
class SequentialSampler {
 public:
  explicit SequentialSampler(size_t size) : size_(size) {}
  std::vector<size_t> epoch() const {
    std::vector<size_t> order(size_);
    for (size_t i = 0; i < size_; ++i) order[i] = i;
    return order;
  }

 private:
  size_t size_;
};

// A new random permutation every epoch, drawn from Kiln's generator (manual_seed reproduces it).
class RandomSampler {
 public:
  explicit RandomSampler(size_t size) : size_(size) {}
  std::vector<size_t> epoch() const {
    std::vector<size_t> order;
    order.reserve(size_);
    for (int64_t i : randperm(static_cast<int64_t>(size_)).to_vector<int64_t>()) order.push_back(static_cast<size_t>(i));
    return order;
  }

 private:
  size_t size_;
};

}  // namespace samplers

template <typename DatasetType, typename Sampler>
class DataLoader {
 public:
  using Batch = typename DatasetType::BatchType;

  DataLoader(DatasetType dataset, DataLoaderOptions options)
      : dataset_(std::move(dataset)), options_(options), sampler_(dataset_.size().value_or(0)) {
    check(options.batch_size_ > 0, "DataLoader", {}, "batch_size must be positive");
  }

  class Iterator {
   public:
    Iterator(DataLoader* loader, bool end) : loader_(loader), end_(end) {
      if (!end) advance();
    }
    Batch& operator*() { return *current_; }
    Batch* operator->() { return &*current_; }
    Iterator& operator++() {
      advance();
      return *this;
    }
    bool operator==(const Iterator& o) const { return end_ == o.end_; }
    bool operator!=(const Iterator& o) const { return !(*this == o); }

   private:
    void advance() {
      current_ = loader_->next();
      if (!current_) end_ = true;
    }
    DataLoader* loader_;
    bool end_;
    std::optional<Batch> current_;
  };

  // A new epoch: a new order from the sampler.
  Iterator begin() {
    order_ = sampler_.epoch();
    position_ = 0;
    pending_ = {};
    return Iterator(this, false);
  }
  Iterator end() { return Iterator(this, true); }

 private:
  // The indices of the next batch, or none at the end of the epoch.
  std::optional<std::vector<size_t>> next_indices() {
    size_t left = order_.size() - position_;
    if (left == 0 || (options_.drop_last_ && left < options_.batch_size_)) return std::nullopt;
    size_t n = std::min(left, options_.batch_size_);
    std::vector<size_t> indices(order_.begin() + position_, order_.begin() + position_ + n);
    position_ += n;
    return indices;
  }
  Batch make(const std::vector<size_t>& indices) { return dataset_.get_batch(indices); }
  // With workers, batch i + 1 is made (and its tensors evaluated) on a thread while batch i runs.
  std::optional<Batch> next() {
    if (options_.workers_ == 0) {
      auto indices = next_indices();
      if (!indices) return std::nullopt;
      return make(*indices);
    }
    if (!pending_.valid()) pending_ = prefetch();
    std::optional<Batch> batch = pending_.get();
    if (batch) pending_ = prefetch();
    return batch;
  }
  std::future<std::optional<Batch>> prefetch() {
    auto indices = next_indices();
    if (!indices) return std::async(std::launch::deferred, [] { return std::optional<Batch>(); });
    return std::async(std::launch::async, [this, indices = std::move(*indices)] {
      Batch b = make(indices);
      if constexpr (requires { b.data; b.target; }) kiln::eval({b.data, b.target});
      return std::optional<Batch>(std::move(b));
    });
  }

  DatasetType dataset_;
  DataLoaderOptions options_;
  Sampler sampler_;
  std::vector<size_t> order_;
  size_t position_ = 0;
  std::future<std::optional<Batch>> pending_;
};

template <typename Sampler = samplers::RandomSampler, typename DatasetType>
std::unique_ptr<DataLoader<DatasetType, Sampler>> make_data_loader(DatasetType dataset, DataLoaderOptions options = {}) {
  return std::make_unique<DataLoader<DatasetType, Sampler>>(std::move(dataset), options);
}

}  // namespace kiln::data
