#include <cmath>
#include <cstring>
#include <limits>
#include <type_traits>

#include "runtime/reference/accumulator.h"
#include "runtime/reference/kernels.h"

namespace kiln::runtime::reference {

namespace {

using ir::Op;

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
T maximum(T a, T b) {
  if constexpr (std::is_floating_point_v<T>)
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  return a > b ? a : b;
}
template <typename T>
T minimum(T a, T b) {
  if constexpr (std::is_floating_point_v<T>)
    if (std::isnan(a) || std::isnan(b)) return std::numeric_limits<T>::quiet_NaN();
  return a < b ? a : b;
}

template <typename T>
void unary(Op op, const T* x, T* y, int64_t n) {
  auto map = [&](auto f) {
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(f(x[i]));
  };
  if constexpr (std::is_floating_point_v<T>) {
    switch (op) {
      case Op::Exp:
        return map([](T v) { return std::exp(v); });
      case Op::Log:
        return map([](T v) { return std::log(v); });
      case Op::Sqrt:
        return map([](T v) { return std::sqrt(v); });
      case Op::Tanh:
        return map([](T v) { return std::tanh(v); });
      case Op::Erf:
        return map([](T v) { return std::erf(v); });
      case Op::Sin:
        return map([](T v) { return std::sin(v); });
      case Op::Cos:
        return map([](T v) { return std::cos(v); });
      default:
        break;
    }
  }
  if constexpr (!std::is_same_v<T, bool>) {  // the front end rejects neg and abs of bool
    switch (op) {
      case Op::Neg:
        return map([](T v) { return -v; });
      case Op::Abs:
        return map([](T v) { return v < 0 ? -v : v; });
      default:
        break;
    }
  }
}

template <typename T>
void binary(Op op, const T* a, const T* b, T* y, int64_t n) {
  auto map = [&](auto f) {
    for (int64_t i = 0; i < n; ++i) y[i] = static_cast<T>(f(a[i], b[i]));
  };
  switch (op) {
    case Op::Add:
      return map(wrapping_add<T>);
    case Op::Sub:
      return map(wrapping_sub<T>);
    case Op::Mul:
      return map(wrapping_mul<T>);
    case Op::Div:
      return map([](T u, T v) { return u / v; });
    case Op::Maximum:
      return map(maximum<T>);
    case Op::Minimum:
      return map(minimum<T>);
    case Op::Pow:
      if constexpr (std::is_floating_point_v<T>)
        return map([](T u, T v) { return std::pow(u, v); });
      else
        return map(integer_pow<T>);
    default:
      break;
  }
}

template <typename T>
void compare(Op op, const T* a, const T* b, bool* y, int64_t n) {
  auto map = [&](auto f) {
    for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], b[i]);
  };
  switch (op) {
    case Op::Eq:
      return map([](T u, T v) { return u == v; });
    case Op::Ne:
      return map([](T u, T v) { return u != v; });
    case Op::Lt:
      return map([](T u, T v) { return u < v; });
    case Op::Le:
      return map([](T u, T v) { return u <= v; });
    case Op::Gt:
      return map([](T u, T v) { return u > v; });
    case Op::Ge:
      return map([](T u, T v) { return u >= v; });
    default:
      break;
  }
}

}  // namespace

void run_elementwise(const ir::Node& n, const Inputs& in, void* out) {
  int64_t count = n.numel();
  ScalarType operand_type = n.inputs.back()->dtype;  // for where, the value type
  dispatch_dtype(operand_type, [&]<typename T>() {
    switch (ir::op_kind(n.op)) {
      case ir::OpKind::Unary:
        return unary<T>(n.op, static_cast<const T*>(in[0]), static_cast<T*>(out), count);
      case ir::OpKind::Binary:
        return binary<T>(n.op, static_cast<const T*>(in[0]), static_cast<const T*>(in[1]), static_cast<T*>(out), count);
      case ir::OpKind::Compare:
        return compare<T>(n.op, static_cast<const T*>(in[0]), static_cast<const T*>(in[1]), static_cast<bool*>(out),
                          count);
      case ir::OpKind::Select: {
        const bool* c = static_cast<const bool*>(in[0]);
        const T* a = static_cast<const T*>(in[1]);
        const T* b = static_cast<const T*>(in[2]);
        T* y = static_cast<T*>(out);
        for (int64_t i = 0; i < count; ++i) y[i] = c[i] ? a[i] : b[i];
        return;
      }
      case ir::OpKind::Cast:
        return dispatch_dtype(n.dtype, [&]<typename To>() {
          const T* x = static_cast<const T*>(in[0]);
          To* y = static_cast<To*>(out);
          for (int64_t i = 0; i < count; ++i) {
            if constexpr (std::is_same_v<To, bool>)
              y[i] = x[i] != T(0);
            else
              y[i] = static_cast<To>(x[i]);
          }
        });
      default:
        return;
    }
  });
}

}  // namespace kiln::runtime::reference
