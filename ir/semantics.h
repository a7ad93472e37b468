// What each elementwise primitive computes on one element: the single definition that the
// reference executor loops over and that the constant folder (passes/) evaluates at compile time,
// so a folded constant is exactly the value the graph would have computed.
#pragma once

#include <cmath>
#include <limits>
#include <type_traits>

#include "ir/half.h"
#include "ir/op.h"

namespace kiln::ir {

// Integer arithmetic wraps around on overflow, as PyTorch's does (in C++ signed overflow would be
// undefined behaviour). Floating types and bool use the plain operators.
template <typename T>
inline constexpr bool kWraps = std::is_integral_v<T> && !std::is_same_v<T, bool>;

template <typename T>
T wrapping_add(T a, T b) {
  if constexpr (kWraps<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) + static_cast<U>(b));
  } else {
    return static_cast<T>(a + b);
  }
}
template <typename T>
T wrapping_sub(T a, T b) {
  if constexpr (kWraps<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) - static_cast<U>(b));
  } else {
    return static_cast<T>(a - b);
  }
}
template <typename T>
T wrapping_mul(T a, T b) {
  if constexpr (kWraps<T>) {
    using U = std::make_unsigned_t<T>;
    return static_cast<T>(static_cast<U>(a) * static_cast<U>(b));
  } else {
    return static_cast<T>(a * b);
  }
}
// -INT_MIN is INT_MIN, as on every two's complement machine, without undefined behaviour.
template <typename T>
T wrapping_neg(T v) {
  if constexpr (kWraps<T>) return wrapping_sub(T(0), v);
  else return static_cast<T>(-v);
}

// Exponentiation by squaring; negative exponents give the integer quotient (0 unless |base| is 1).
template <typename T>
T integer_pow(T base, T exp) {
  if constexpr (std::is_same_v<T, bool>) {
    return base || !exp;
  } else {
    if (exp < 0) return base == 1 ? 1 : (base == -1 ? (exp % 2 ? -1 : 1) : 0);
    T result = 1;
    for (; exp; exp >>= 1) {
      if (exp & 1) result = wrapping_mul(result, base);
      if (exp > 1) base = wrapping_mul(base, base);
    }
    return result;
  }
}

// max/min that propagate NaN, as torch.maximum/minimum do.
template <typename T>
T nan_maximum(T a, T b) {
  if constexpr (std::is_floating_point_v<T>)
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  return a > b ? a : b;
}
template <typename T>
T nan_minimum(T a, T b) {
  if constexpr (std::is_floating_point_v<T>)
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  return a < b ? a : b;
}

// Reductions (reduce_sum, reduce_prod, reduce_max, reduce_min): the starting value and how one
// element folds in, the one definition the reference executor, the kernel-IR interpreter and the
// code generators use. Integer sums and products wrap; max and min propagate NaN; for bool, max
// is `or` and min is `and` (the identities false and true).
template <typename T>
T reduction_identity(Op op) {
  if constexpr (is_reduced_float_v<T>) {
    return T(reduction_identity<float>(op));
  } else {
    if (op == Op::ReduceSum) return T(0);
    if (op == Op::ReduceProd) return T(1);
    bool max = op == Op::ReduceMax || op == Op::ArgMax;
    if constexpr (std::is_floating_point_v<T>)
      return max ? -std::numeric_limits<T>::infinity() : std::numeric_limits<T>::infinity();
    else
      return max ? std::numeric_limits<T>::lowest() : std::numeric_limits<T>::max();
  }
}
// (Reductions of the 16-bit floats accumulate in compute_t<T>, float32; combining two T rounds.)
template <typename T>
T reduction_combine(Op op, T acc, T v) {
  if constexpr (is_reduced_float_v<T>) {
    return T(reduction_combine<float>(op, static_cast<float>(acc), static_cast<float>(v)));
  } else {
    if (op == Op::ReduceSum) return wrapping_add(acc, v);
    if (op == Op::ReduceProd) return wrapping_mul(acc, v);
    return op == Op::ReduceMax ? nan_maximum(acc, v) : nan_minimum(acc, v);
  }
}

// argmax/argmin keep the extreme seen so far and its position. They start from reduce_max's or
// reduce_min's identity at position 0, and element v replaces the extreme `best` when v is NaN
// (NaN counts as the extreme, and the first NaN stays) or lies strictly beyond it (ties keep the
// first): PyTorch's argmax. An all -inf row (or all lowest) gives position 0, its first element.
template <typename T>
bool arg_replaces(Op op, T v, T best) {
  if constexpr (is_reduced_float_v<T>) {
    return arg_replaces<float>(op, static_cast<float>(v), static_cast<float>(best));
  } else {
    if constexpr (std::is_floating_point_v<T>) {
      if (std::isnan(best)) return false;
      if (std::isnan(v)) return true;
    }
    return op == Op::ArgMax ? v > best : v < best;
  }
}

// `cast`: a plain C++ conversion, except that converting to bool tests for non-zero (so 0.5 is
// true). Floating values outside an integer type's range are undefined, as in PyTorch.
// The 16-bit floats convert through float32, as c10::Half and c10::BFloat16 do.
template <typename To, typename From>
To convert(From x) {
  if constexpr (is_reduced_float_v<From> && !std::is_same_v<To, From>) return convert<To>(static_cast<float>(x));
  else if constexpr (std::is_same_v<To, bool>) return x != From(0);
  else return static_cast<To>(x);
}

// `where`: the condition picks a, else b.
template <typename T>
T select(bool cond, T a, T b) {
  return cond ? a : b;
}

namespace semantics_internal {
// Hands `f` to `fn` and reports that the op was found.
template <typename Fn, typename F>
bool call(Fn& fn, F f) {
  fn(f);
  return true;
}
}  // namespace semantics_internal

// The visitors below call fn(f) once with f the per-element function `op` computes on T, so a
// caller dispatches on the op once and then loops (or evaluates a single constant). They return
// false, without calling fn, when `op` is not of their kind or is not defined on T (the front end
// promotes integers to float for exp and friends, and rejects neg/abs of bool).

// neg abs exp log sqrt tanh erf sin cos floor ceil round trunc: T -> T. On the 16-bit floats
// every visitor computes in float32 and rounds the result back to T (PyTorch's CPU rule).
template <typename T, typename Fn>
bool visit_unary(Op op, Fn&& fn) {
  if constexpr (is_reduced_float_v<T>) {
    return visit_unary<float>(op, [&](auto f) { fn([f](T v) { return T(f(static_cast<float>(v))); }); });
  } else {
    if constexpr (std::is_floating_point_v<T>) {
      switch (op) {
        case Op::Exp: return semantics_internal::call(fn, [](T v) -> T { return std::exp(v); });
        case Op::Log: return semantics_internal::call(fn, [](T v) -> T { return std::log(v); });
        case Op::Sqrt: return semantics_internal::call(fn, [](T v) -> T { return std::sqrt(v); });
        case Op::Tanh: return semantics_internal::call(fn, [](T v) -> T { return std::tanh(v); });
        case Op::Erf: return semantics_internal::call(fn, [](T v) -> T { return std::erf(v); });
        case Op::Sin: return semantics_internal::call(fn, [](T v) -> T { return std::sin(v); });
        case Op::Cos: return semantics_internal::call(fn, [](T v) -> T { return std::cos(v); });
        case Op::Floor: return semantics_internal::call(fn, [](T v) -> T { return std::floor(v); });
        case Op::Ceil: return semantics_internal::call(fn, [](T v) -> T { return std::ceil(v); });
        // Halfway cases to even, as torch.round (the default rounding mode).
        case Op::Round: return semantics_internal::call(fn, [](T v) -> T { return std::nearbyint(v); });
        case Op::Trunc: return semantics_internal::call(fn, [](T v) -> T { return std::trunc(v); });
        default: break;
      }
    }
    if constexpr (!std::is_same_v<T, bool>) {
      switch (op) {
        case Op::Neg: return semantics_internal::call(fn, [](T v) -> T { return wrapping_neg(v); });
        // v < 0 is false for -0.0, so abs(-0.0) stays -0.0.
        case Op::Abs: return semantics_internal::call(fn, [](T v) -> T { return v < 0 ? wrapping_neg(v) : v; });
        default: break;
      }
    }
    return false;
  }
}

// add sub mul div pow maximum minimum: (T, T) -> T. Integer division truncates and, as in C++,
// is undefined for a zero divisor (the front end makes `/` true division, so it never records it).
template <typename T, typename Fn>
bool visit_binary(Op op, Fn&& fn) {
  if constexpr (is_reduced_float_v<T>) {
    return visit_binary<float>(
        op, [&](auto f) { fn([f](T a, T b) { return T(f(static_cast<float>(a), static_cast<float>(b))); }); });
  } else {
    switch (op) {
      case Op::Add: return semantics_internal::call(fn, [](T a, T b) -> T { return wrapping_add(a, b); });
      case Op::Sub: return semantics_internal::call(fn, [](T a, T b) -> T { return wrapping_sub(a, b); });
      case Op::Mul: return semantics_internal::call(fn, [](T a, T b) -> T { return wrapping_mul(a, b); });
      case Op::Div: return semantics_internal::call(fn, [](T a, T b) -> T { return static_cast<T>(a / b); });
      case Op::Maximum: return semantics_internal::call(fn, [](T a, T b) -> T { return nan_maximum(a, b); });
      case Op::Minimum: return semantics_internal::call(fn, [](T a, T b) -> T { return nan_minimum(a, b); });
      case Op::Pow:
        return semantics_internal::call(fn, [](T a, T b) -> T {
          if constexpr (std::is_floating_point_v<T>) return std::pow(a, b);
          else return integer_pow(a, b);
        });
      default: return false;
    }
  }
}

// eq ne lt le gt ge: (T, T) -> bool, IEEE comparisons (NaN compares unequal to everything).
template <typename T, typename Fn>
bool visit_compare(Op op, Fn&& fn) {
  if constexpr (is_reduced_float_v<T>) {
    return visit_compare<float>(
        op, [&](auto f) { fn([f](T a, T b) { return f(static_cast<float>(a), static_cast<float>(b)); }); });
  } else {
    switch (op) {
      case Op::Eq: return semantics_internal::call(fn, [](T a, T b) { return a == b; });
      case Op::Ne: return semantics_internal::call(fn, [](T a, T b) { return a != b; });
      case Op::Lt: return semantics_internal::call(fn, [](T a, T b) { return a < b; });
      case Op::Le: return semantics_internal::call(fn, [](T a, T b) { return a <= b; });
      case Op::Gt: return semantics_internal::call(fn, [](T a, T b) { return a > b; });
      case Op::Ge: return semantics_internal::call(fn, [](T a, T b) { return a >= b; });
      default: return false;
    }
  }
}

}  // namespace kiln::ir
