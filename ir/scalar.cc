#include "ir/scalar.h"

#include <cmath>
#include <cstdio>

namespace kiln {

Scalar Scalar::cast(ScalarType t) const {
  return dispatch_dtype(t, [&]<typename T>() -> Scalar {
    if constexpr (std::same_as<T, bool>) return Scalar(to<bool>());
    else if constexpr (std::floating_point<T> || is_reduced_float_v<T>) return Scalar(static_cast<double>(to<T>()));
    else return Scalar(static_cast<int64_t>(to<T>()));
  });
}

std::string Scalar::str() const {
  if (type_ == kBool) return int_ ? "true" : "false";
  if (type_ == kInt64) return std::to_string(int_);
  if (std::isnan(float_)) return "nan";
  if (std::isinf(float_)) return float_ > 0 ? "inf" : "-inf";
  // %.17g round-trips every double exactly.
  char buf[40];
  std::snprintf(buf, sizeof buf, "%.17g", float_);
  std::string s = buf;
  if (s.find_first_of(".e") == std::string::npos) s += ".0";
  return s;
}

}  // namespace kiln
