// ExpandingArray<D>, as LibTorch's: a size per spatial dimension, given as one number for all
// (`.stride(2)`) or one each (`.padding({1, 0})`).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <string>

#include "kiln/kiln.h"

namespace kiln {

template <size_t D>
class ExpandingArray {
 public:
  ExpandingArray(int64_t value) { values_.fill(value); }
  ExpandingArray(std::initializer_list<int64_t> values) {
    check(values.size() == D, "ExpandingArray", {}, [&] {
      return "expected " + std::to_string(D) + " values, got " + std::to_string(values.size());
    });
    std::copy(values.begin(), values.end(), values_.begin());
  }
  int64_t operator[](size_t i) const { return values_[i]; }
  const int64_t* begin() const { return values_.data(); }
  const int64_t* end() const { return values_.data() + D; }
  static constexpr size_t size() { return D; }
  bool operator==(const ExpandingArray&) const = default;
  std::string str() const {
    std::string s = "[";
    for (size_t i = 0; i < D; ++i) s += (i ? ", " : "") + std::to_string(values_[i]);
    return s + "]";
  }

 private:
  std::array<int64_t, D> values_{};
};

}  // namespace kiln
