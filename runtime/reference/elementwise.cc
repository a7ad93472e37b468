// Loops over the per-element semantics of ir/semantics.h: one dispatch on the op per node, then
// a plain loop, so the reference and the constant folder cannot disagree on what an op computes.
#include <cstdint>

#include "ir/semantics.h"
#include "runtime/reference/kernels.h"

namespace kiln::runtime::reference {

namespace {

using ir::Op;

template <typename T>
void unary(Op op, const T* x, T* y, int64_t n) {
  ir::visit_unary<T>(op, [&](auto f) {
    for (int64_t i = 0; i < n; ++i) y[i] = f(x[i]);
  });
}

template <typename T>
void binary(Op op, const T* a, const T* b, T* y, int64_t n) {
  ir::visit_binary<T>(op, [&](auto f) {
    for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], b[i]);
  });
}

template <typename T>
void compare(Op op, const T* a, const T* b, bool* y, int64_t n) {
  ir::visit_compare<T>(op, [&](auto f) {
    for (int64_t i = 0; i < n; ++i) y[i] = f(a[i], b[i]);
  });
}

template <typename T>
void select(const bool* c, const T* a, const T* b, T* y, int64_t n) {
  for (int64_t i = 0; i < n; ++i) y[i] = ir::select(c[i], a[i], b[i]);
}

template <typename From>
void cast(ScalarType to, const From* x, void* out, int64_t n) {
  dispatch_dtype(to, [&]<typename To>() {
    To* y = static_cast<To*>(out);
    for (int64_t i = 0; i < n; ++i) y[i] = ir::convert<To>(x[i]);
  });
}

}  // namespace

void run_elementwise(const ir::Node& n, const Inputs& in, void* out) {
  int64_t count = n.numel();
  ScalarType operand_type = n.inputs.back()->dtype;  // for where, the value type
  dispatch_dtype(operand_type, [&]<typename T>() {
    const T* x = static_cast<const T*>(in[0]);
    switch (ir::op_kind(n.op)) {
      case ir::OpKind::Unary:
        return unary<T>(n.op, x, static_cast<T*>(out), count);
      case ir::OpKind::Binary:
        return binary<T>(n.op, x, static_cast<const T*>(in[1]), static_cast<T*>(out), count);
      case ir::OpKind::Compare:
        return compare<T>(n.op, x, static_cast<const T*>(in[1]), static_cast<bool*>(out), count);
      case ir::OpKind::Select:
        return select<T>(static_cast<const bool*>(in[0]), static_cast<const T*>(in[1]), static_cast<const T*>(in[2]),
                         static_cast<T*>(out), count);
      case ir::OpKind::Cast:
        return cast<T>(n.dtype, x, out, count);
      default:
        return;
    }
  });
}

}  // namespace kiln::runtime::reference
