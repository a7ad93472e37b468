// LibTorch's small vocabulary types: ArrayRef (a non-owning view of contiguous elements, as
// c10::ArrayRef), IntArrayRef, irange and optional, so that ported code compiles unchanged.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <ostream>
#include <type_traits>
#include <vector>

namespace kiln {

// A view of `size()` elements that the caller keeps alive, as c10::ArrayRef: from a braced list
// or a single element (alive until the end of the full expression, as any argument, so
// `x.sum(1)` and `randn(3)` work as in LibTorch), a std::vector, or a pointer and length.
template <typename T>
class ArrayRef {
 public:
  using value_type = T;
  using const_iterator = const T*;
  using iterator = const T*;

  constexpr ArrayRef() = default;
  ArrayRef(const T& one) : data_(&one), size_(1) {}  // NOLINT: implicit, as c10's
  ArrayRef(const T* data, size_t size) : data_(data), size_(size) {}
  template <typename A>
  ArrayRef(const std::vector<T, A>& v) : data_(v.data()), size_(v.size()) {}  // NOLINT
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Winit-list-lifetime"  // the list outlives the call, as c10's
#endif
  ArrayRef(std::initializer_list<T> list) : data_(list.begin()), size_(list.size()) {}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

  const T* data() const { return data_; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  const T* begin() const { return data_; }
  const T* end() const { return data_ + size_; }
  const T& operator[](size_t i) const { return data_[i]; }
  const T& front() const { return data_[0]; }
  const T& back() const { return data_[size_ - 1]; }
  std::vector<T> vec() const { return std::vector<T>(begin(), end()); }
  operator std::vector<T>() const { return vec(); }  // NOLINT: Shape s = t.sizes()

  friend bool operator==(ArrayRef a, ArrayRef b) { return std::equal(a.begin(), a.end(), b.begin(), b.end()); }
  friend bool operator==(ArrayRef a, const std::vector<T>& b) { return a == ArrayRef(b); }
  // Prints as LibTorch does: [2, 3].
  friend std::ostream& operator<<(std::ostream& os, ArrayRef a) {
    os << '[';
    for (size_t i = 0; i < a.size(); ++i) os << (i ? ", " : "") << a[i];
    return os << ']';
  }

 private:
  const T* data_ = nullptr;
  size_t size_ = 0;
};

using IntArrayRef = ArrayRef<int64_t>;

template <typename T>
using optional = std::optional<T>;
inline constexpr std::nullopt_t nullopt = std::nullopt;

// for (auto i : kiln::irange(n)) and irange(begin, end), as c10::irange.
template <typename I>
class IntegerRange {
 public:
  struct iterator {
    I value;
    I operator*() const { return value; }
    iterator& operator++() { return ++value, *this; }
    bool operator!=(const iterator& o) const { return value != o.value; }
    bool operator==(const iterator& o) const { return value == o.value; }
  };
  IntegerRange(I begin, I end) : begin_(begin), end_(std::max(begin, end)) {}
  iterator begin() const { return {begin_}; }
  iterator end() const { return {end_}; }

 private:
  I begin_, end_;
};

template <typename I, typename = std::enable_if_t<std::is_integral_v<I>>>
IntegerRange<I> irange(I end) {
  return {I(0), end};
}
template <typename I, typename J, typename = std::enable_if_t<std::is_integral_v<I> && std::is_integral_v<J>>>
IntegerRange<std::common_type_t<I, J>> irange(I begin, J end) {
  return {std::common_type_t<I, J>(begin), std::common_type_t<I, J>(end)};
}

}  // namespace kiln
