// Element types and PyTorch's type-promotion rules.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <utility>

#include "ir/half.h"

namespace kiln {

// Ordered so that the later type holds the earlier one, except uint8 and int8 (which promote to
// int16) and float16 and bfloat16 (which promote to float32).
enum class ScalarType : uint8_t { Bool, UInt8, Int8, Int16, Int32, Int64, Float16, BFloat16, Float32, Float64 };

inline constexpr ScalarType kBool = ScalarType::Bool;
inline constexpr ScalarType kUInt8 = ScalarType::UInt8;
inline constexpr ScalarType kInt8 = ScalarType::Int8;
inline constexpr ScalarType kInt16 = ScalarType::Int16;
inline constexpr ScalarType kInt32 = ScalarType::Int32;
inline constexpr ScalarType kInt64 = ScalarType::Int64;
inline constexpr ScalarType kFloat16 = ScalarType::Float16;
inline constexpr ScalarType kBFloat16 = ScalarType::BFloat16;
inline constexpr ScalarType kFloat32 = ScalarType::Float32;
inline constexpr ScalarType kFloat64 = ScalarType::Float64;
inline constexpr ScalarType kByte = kUInt8;
inline constexpr ScalarType kChar = kInt8;
inline constexpr ScalarType kShort = kInt16;
inline constexpr ScalarType kInt = kInt32;
inline constexpr ScalarType kLong = kInt64;
inline constexpr ScalarType kHalf = kFloat16;
inline constexpr ScalarType kFloat = kFloat32;
inline constexpr ScalarType kDouble = kFloat64;

// Every dtype, in enum order (parsers look names up in it).
inline constexpr ScalarType kAllDtypes[] = {ScalarType::Bool,    ScalarType::UInt8,    ScalarType::Int8,
                                            ScalarType::Int16,   ScalarType::Int32,    ScalarType::Int64,
                                            ScalarType::Float16, ScalarType::BFloat16, ScalarType::Float32,
                                            ScalarType::Float64};

// The three kinds PyTorch promotes between: a scalar of a higher category lifts a tensor's type.
enum class TypeCategory : uint8_t { Bool, Integral, Floating };

std::string_view dtype_name(ScalarType t);       // "float32"
std::string_view dtype_short_name(ScalarType t); // "f32", used by the IR printer
size_t element_size(ScalarType t);
TypeCategory category(ScalarType t);
inline bool is_floating(ScalarType t) { return category(t) == TypeCategory::Floating; }
inline bool is_integral(ScalarType t, bool include_bool) {
  return category(t) == TypeCategory::Integral || (include_bool && t == ScalarType::Bool);
}
// Bool and uint8 compare, divide and convert as unsigned numbers.
inline bool is_unsigned(ScalarType t) { return t == ScalarType::Bool || t == ScalarType::UInt8; }
// float16 and bfloat16: stored in 16 bits, computed on in float32 (ir/half.h).
inline bool is_reduced_float(ScalarType t) { return t == ScalarType::Float16 || t == ScalarType::BFloat16; }
// The type arithmetic on `t` happens in, and reductions of `t` accumulate in: float32 for the
// 16-bit floats (each elementwise result is rounded back to `t`), `t` itself otherwise.
inline ScalarType compute_dtype(ScalarType t) { return is_reduced_float(t) ? ScalarType::Float32 : t; }

// The smallest type that holds both (torch.promote_types).
ScalarType promote_types(ScalarType a, ScalarType b);

// Whether a value of `from` may be written into `to` by an in-place op (torch.can_cast).
bool can_cast(ScalarType from, ScalarType to);

template <typename T> struct CppType;
template <> struct CppType<bool> { static constexpr ScalarType value = kBool; };
template <> struct CppType<uint8_t> { static constexpr ScalarType value = kUInt8; };
template <> struct CppType<int8_t> { static constexpr ScalarType value = kInt8; };
template <> struct CppType<int16_t> { static constexpr ScalarType value = kInt16; };
template <> struct CppType<int32_t> { static constexpr ScalarType value = kInt32; };
template <> struct CppType<int64_t> { static constexpr ScalarType value = kInt64; };
template <> struct CppType<Half> { static constexpr ScalarType value = kFloat16; };
template <> struct CppType<BFloat16> { static constexpr ScalarType value = kBFloat16; };
template <> struct CppType<float> { static constexpr ScalarType value = kFloat32; };
template <> struct CppType<double> { static constexpr ScalarType value = kFloat64; };
template <typename T> inline constexpr ScalarType dtype_of = CppType<T>::value;

// Calls fn.template operator()<T>() with T the C++ type of `t`.
template <typename Fn> decltype(auto) dispatch_dtype(ScalarType t, Fn&& fn) {
  switch (t) {
    case ScalarType::Bool: return std::forward<Fn>(fn).template operator()<bool>();
    case ScalarType::UInt8: return std::forward<Fn>(fn).template operator()<uint8_t>();
    case ScalarType::Int8: return std::forward<Fn>(fn).template operator()<int8_t>();
    case ScalarType::Int16: return std::forward<Fn>(fn).template operator()<int16_t>();
    case ScalarType::Int32: return std::forward<Fn>(fn).template operator()<int32_t>();
    case ScalarType::Int64: return std::forward<Fn>(fn).template operator()<int64_t>();
    case ScalarType::Float16: return std::forward<Fn>(fn).template operator()<Half>();
    case ScalarType::BFloat16: return std::forward<Fn>(fn).template operator()<BFloat16>();
    case ScalarType::Float32: return std::forward<Fn>(fn).template operator()<float>();
    case ScalarType::Float64: break;
  }
  return std::forward<Fn>(fn).template operator()<double>();
}

}  // namespace kiln
