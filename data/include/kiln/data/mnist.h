// MNIST-format datasets (MNIST, Fashion-MNIST): the IDX files, gzip-compressed or not, read
// with zlib into two tensors, as torch::data::datasets::MNIST. A missing, truncated or corrupt
// file raises kiln::Error naming the file and what is wrong; nothing is read silently short.
#pragma once

#include <string>

#include "kiln/data/dataset.h"

namespace kiln::data::datasets {

// The IDX file at `path` (or `path` + ".gz") as a tensor: uint8 data of the header's shape.
Tensor read_idx(const std::string& path, Loc loc = Loc::current());

class MNIST : public Dataset<MNIST> {
 public:
  enum class Mode { kTrain, kTest };
  // `root` holds train-images-idx3-ubyte, train-labels-idx1-ubyte, t10k-... (each maybe .gz).
  // Images become float32 [N, 1, 28, 28] in [0, 1]; targets int64 [N].
  explicit MNIST(const std::string& root, Mode mode = Mode::kTrain, Loc loc = Loc::current());
  Example<> get(size_t index) override;
  std::optional<size_t> size() const override;
  bool is_train() const { return train_; }
  const Tensor& images() const { return images_; }
  const Tensor& targets() const { return targets_; }

 private:
  Tensor images_, targets_;
  bool train_;
};

}  // namespace kiln::data::datasets
