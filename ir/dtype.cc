#include "ir/dtype.h"

#include <algorithm>

namespace kiln {

std::string_view dtype_name(ScalarType t) {
  switch (t) {
    case kBool: return "bool";
    case kUInt8: return "uint8";
    case kInt8: return "int8";
    case kInt16: return "int16";
    case kInt32: return "int32";
    case kInt64: return "int64";
    case kFloat16: return "float16";
    case kBFloat16: return "bfloat16";
    case kFloat32: return "float32";
    case kFloat64: return "float64";
  }
  return "?";
}

std::string_view dtype_short_name(ScalarType t) {
  switch (t) {
    case kBool: return "i1";
    case kUInt8: return "u8";
    case kInt8: return "i8";
    case kInt16: return "i16";
    case kInt32: return "i32";
    case kInt64: return "i64";
    case kFloat16: return "f16";
    case kBFloat16: return "bf16";
    case kFloat32: return "f32";
    case kFloat64: return "f64";
  }
  return "?";
}

size_t element_size(ScalarType t) {
  return dispatch_dtype(t, []<typename T>() { return sizeof(T); });
}

TypeCategory category(ScalarType t) {
  switch (t) {
    case kBool: return TypeCategory::Bool;
    case kUInt8:
    case kInt8:
    case kInt16:
    case kInt32:
    case kInt64: return TypeCategory::Integral;
    case kFloat16:
    case kBFloat16:
    case kFloat32:
    case kFloat64: break;
  }
  return TypeCategory::Floating;
}

// The enum is ordered so that the larger type holds the smaller one, except uint8 and int8 (each
// holds a value the other lacks) and float16 and bfloat16 (more precision versus more range).
ScalarType promote_types(ScalarType a, ScalarType b) {
  if ((a == kUInt8 && b == kInt8) || (a == kInt8 && b == kUInt8)) return kInt16;
  if ((a == kFloat16 && b == kBFloat16) || (a == kBFloat16 && b == kFloat16)) return kFloat32;
  return std::max(a, b);
}

bool can_cast(ScalarType from, ScalarType to) { return category(from) <= category(to); }

}  // namespace kiln
