// A number that remembers whether it was written as a bool, an integer or a float,
// so that `int_tensor + 1` stays integral and `int_tensor + 1.5` becomes float (PyTorch's rule).
#pragma once

#include <cmath>
#include <concepts>
#include <cstdint>
#include <limits>
#include <string>

#include "ir/dtype.h"

namespace kiln {

class Scalar {
 public:
  // A float as an integer type: truncated toward zero, saturated at the type's limits, NaN as 0.
  // (C++ leaves NaN and out-of-range conversions undefined; PyTorch leaves their values
  // unspecified, and a dump read back may hold any value.)
  template <std::integral T>
  static T to_integer(double v) {
    if (std::isnan(v)) return 0;
    if (v <= static_cast<double>(std::numeric_limits<T>::lowest())) return std::numeric_limits<T>::lowest();
    if (v >= static_cast<double>(std::numeric_limits<T>::max())) return std::numeric_limits<T>::max();
    return static_cast<T>(v);
  }

  Scalar() : Scalar(int64_t{0}) {}
  Scalar(bool v) : type_(kBool), int_(v), float_(v) {}
  template <std::integral T>
    requires(!std::same_as<T, bool>)
  Scalar(T v) : type_(kInt64), int_(static_cast<int64_t>(v)), float_(static_cast<double>(v)) {}
  template <std::floating_point T>
  Scalar(T v) : type_(kFloat64), int_(to_integer<int64_t>(v)), float_(static_cast<double>(v)) {}
  template <typename T>
    requires is_reduced_float_v<T>
  Scalar(T v) : Scalar(static_cast<float>(v)) {}

  // kBool, kInt64 or kFloat64: the category the literal was written in.
  ScalarType type() const { return type_; }
  bool is_floating_point() const { return type_ == kFloat64; }
  double to_double() const { return float_; }
  int64_t to_long() const { return int_; }
  template <typename T> T to() const {
    if constexpr (std::same_as<T, bool>) return type_ == kFloat64 ? float_ != 0.0 : int_ != 0;
    else if constexpr (std::floating_point<T> || is_reduced_float_v<T>) return static_cast<T>(float_);
    else return type_ == kFloat64 ? to_integer<T>(float_) : static_cast<T>(int_);
  }
  // LibTorch's spellings.
  double toDouble() const { return to<double>(); }
  float toFloat() const { return to<float>(); }
  int64_t toLong() const { return to<int64_t>(); }
  int toInt() const { return to<int>(); }
  bool toBool() const { return to<bool>(); }
  bool isFloatingPoint() const { return is_floating_point(); }
  bool isIntegral(bool include_bool) const { return type_ == kInt64 || (include_bool && type_ == kBool); }
  bool isBoolean() const { return type_ == kBool; }
  // The same value converted to `t` (what writing it into a tensor of that type stores).
  Scalar cast(ScalarType t) const;
  std::string str() const;
  bool operator==(const Scalar& o) const { return type_ == o.type_ && int_ == o.int_ && float_ == o.float_; }

 private:
  ScalarType type_;
  int64_t int_;
  double float_;
};

}  // namespace kiln
