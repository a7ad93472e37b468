// The 16-bit floating storage types: IEEE binary16 (kiln::Half, ScalarType::Float16) and
// bfloat16 (kiln::BFloat16, the top half of a float32). They only store values: arithmetic on
// them happens in float32 (`compute_t`) and each result is rounded back, as PyTorch's CPU kernels
// do. Every conversion is written out in integer operations, so the reference executor, the
// kernel interpreter, the LLVM code and the CUDA C (which repeat these algorithms; docs/IR.md)
// agree bit for bit without a compiler runtime or cuda_fp16.h.
#pragma once

#include <bit>
#include <concepts>
#include <cstdint>
#include <type_traits>

namespace kiln {

namespace half_bits {

// float32 -> binary16, round to nearest even. Overflow gives +-inf; NaN stays NaN (sign and the
// top payload bits kept, quiet bit set).
constexpr uint16_t from_float(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  uint32_t sign = (x >> 16) & 0x8000u, a = x & 0x7fffffffu;
  if (a > 0x7f800000u) return static_cast<uint16_t>(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
  if (a >= 0x477ff000u) return static_cast<uint16_t>(sign | 0x7c00u);  // >= 65520 rounds to inf
  if (a < 0x38800000u) {
    // Below 2^-14 (binary16's smallest normal): adding 0.5 lines the value up with the unit of
    // the subnormals (2^-24), and the float addition itself rounds to nearest even.
    float shifted = std::bit_cast<float>(a) + 0.5f;
    return static_cast<uint16_t>(sign | (std::bit_cast<uint32_t>(shifted) - 0x3f000000u));
  }
  // Normal: rebias the exponent (127 -> 15) and round the 13 dropped bits to nearest even.
  uint32_t odd = (a >> 13) & 1u;
  return static_cast<uint16_t>(sign | ((a - 0x38000000u + 0xfffu + odd) >> 13));
}

// binary16 -> float32, exact.
constexpr float to_float(uint16_t h) {
  uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16, em = h & 0x7fffu;
  if (em >= 0x7c00u) return std::bit_cast<float>(sign | 0x7f800000u | ((em & 0x3ffu) << 13));  // inf, NaN
  if (em >= 0x0400u) return std::bit_cast<float>(sign | ((em << 13) + 0x38000000u));           // normal
  // Zero and subnormals: em units of 2^-24, exact in float.
  return std::bit_cast<float>(sign | std::bit_cast<uint32_t>(static_cast<float>(em) * 0x1p-24f));
}

}  // namespace half_bits

namespace bfloat16_bits {

// float32 -> bfloat16: round to nearest even on the top 16 bits; NaN stays NaN, made quiet.
constexpr uint16_t from_float(float f) {
  uint32_t x = std::bit_cast<uint32_t>(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((x >> 16) | 0x0040u);
  return static_cast<uint16_t>((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

constexpr float to_float(uint16_t b) { return std::bit_cast<float>(static_cast<uint32_t>(b) << 16); }

}  // namespace bfloat16_bits

namespace half_internal {

// The shared shape of both storage types: the bits, explicit conversions through float32, and
// c10::Half's operators (compare as float32; arithmetic in float32, rounded back), so generic
// code written for every dtype also compiles for these.
template <typename Self, uint16_t (*FromFloat)(float), float (*ToFloat)(uint16_t)>
struct Float16Storage {
  uint16_t bits;

  Float16Storage() = default;
  // From any arithmetic value through float32 (so a double rounds twice, as c10::Half does).
  template <typename U>
    requires std::is_arithmetic_v<U>
  constexpr explicit Float16Storage(U v) : bits(FromFloat(static_cast<float>(v))) {}
  // From the other 16-bit type, through float32.
  template <typename O, uint16_t (*F)(float), float (*T)(uint16_t)>
  constexpr explicit Float16Storage(Float16Storage<O, F, T> other) : bits(FromFloat(T(other.bits))) {}
  template <typename U>
    requires std::is_arithmetic_v<U>
  constexpr explicit operator U() const {
    return static_cast<U>(ToFloat(bits));
  }
  static constexpr Self from_bits(uint16_t b) {
    Self s{};
    s.bits = b;
    return s;
  }

  friend constexpr float widen(Self x) { return ToFloat(x.bits); }
  friend constexpr Self operator+(Self a, Self b) { return Self(widen(a) + widen(b)); }
  friend constexpr Self operator-(Self a, Self b) { return Self(widen(a) - widen(b)); }
  friend constexpr Self operator*(Self a, Self b) { return Self(widen(a) * widen(b)); }
  friend constexpr Self operator/(Self a, Self b) { return Self(widen(a) / widen(b)); }
  friend constexpr float operator+(Self a) { return widen(a); }  // promotes, as +short does
  friend constexpr Self operator-(Self a) { return from_bits(static_cast<uint16_t>(a.bits ^ 0x8000u)); }
  friend constexpr bool operator==(Self a, Self b) { return widen(a) == widen(b); }
  friend constexpr bool operator<(Self a, Self b) { return widen(a) < widen(b); }
  friend constexpr bool operator<=(Self a, Self b) { return widen(a) <= widen(b); }
  friend constexpr bool operator>(Self a, Self b) { return widen(a) > widen(b); }
  friend constexpr bool operator>=(Self a, Self b) { return widen(a) >= widen(b); }
};

}  // namespace half_internal

// IEEE 754 binary16 (torch.float16): 5 exponent bits, 10 fraction bits, largest finite 65504.
struct Half : half_internal::Float16Storage<Half, half_bits::from_float, half_bits::to_float> {
  using Float16Storage::Float16Storage;
};
// bfloat16 (torch.bfloat16): float32's 8 exponent bits, 7 fraction bits.
struct BFloat16 : half_internal::Float16Storage<BFloat16, bfloat16_bits::from_float, bfloat16_bits::to_float> {
  using Float16Storage::Float16Storage;
};

template <typename T>
inline constexpr bool is_reduced_float_v = std::is_same_v<T, Half> || std::is_same_v<T, BFloat16>;

// The type arithmetic on a T happens in: float for the 16-bit floats, T itself otherwise.
template <typename T>
using compute_t = std::conditional_t<is_reduced_float_v<T>, float, T>;

}  // namespace kiln
