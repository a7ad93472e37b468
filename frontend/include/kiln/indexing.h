// LibTorch's indexing vocabulary: t.index({Slice(), 1}), t.index_put_({mask}, 0) with
// kiln::indexing::{Slice, None, Ellipsis}, integers, bools and tensors (int64 positions or bool
// masks), as torch::indexing.
#pragma once

#include <cstdint>
#include <optional>

#include "kiln/tensor.h"

namespace kiln::indexing {

struct EllipsisIndexType {};
inline constexpr EllipsisIndexType Ellipsis{};
inline constexpr std::nullopt_t None = std::nullopt;

// start:stop:step, each optional, as Python's slice (negative bounds count from the end).
class Slice {
 public:
  Slice(std::optional<int64_t> start = std::nullopt, std::optional<int64_t> stop = std::nullopt,
        std::optional<int64_t> step = std::nullopt)
      : start(start), stop(stop), step(step) {}
  std::optional<int64_t> start, stop, step;
};

// One entry of an index list.
class TensorIndex {
 public:
  enum Kind { kNone, kEllipsis, kInteger, kBoolean, kSlice, kTensor };
  TensorIndex(std::nullopt_t) : kind(kNone) {}
  TensorIndex(EllipsisIndexType) : kind(kEllipsis) {}
  TensorIndex(const char* s);  // "..." (LibTorch's spelling of Ellipsis)
  template <typename I>
    requires(std::is_integral_v<I> && !std::is_same_v<I, bool>)
  TensorIndex(I i) : kind(kInteger), integer(static_cast<int64_t>(i)) {}
  TensorIndex(bool b) : kind(kBoolean), boolean(b) {}
  TensorIndex(Slice s) : kind(kSlice), slice(s) {}
  TensorIndex(Tensor t) : kind(kTensor), tensor(std::move(t)) {}

  Kind kind;
  int64_t integer = 0;
  bool boolean = false;
  Slice slice;
  Tensor tensor;
};

}  // namespace kiln::indexing
