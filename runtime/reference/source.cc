#include "ir/philox.h"
#include "runtime/reference/kernels.h"

namespace kiln::runtime::reference {

void run_source(const ir::Node& n, void* out) {
  const ir::Attrs& a = n.attrs;
  int64_t count = n.numel();
  dispatch_dtype(n.dtype, [&]<typename T>() {
    using C = compute_t<T>;  // the 16-bit floats are made in float32 and rounded once
    T* y = static_cast<T*>(out);
    switch (n.op) {
      case ir::Op::Full:
        for (int64_t i = 0; i < count; ++i) y[i] = a.value.to<T>();
        break;
      case ir::Op::Iota:
        for (int64_t i = 0; i < count; ++i) {
          if constexpr (std::is_floating_point_v<C>)
            y[i] = static_cast<T>(a.value.to_double() + static_cast<double>(i) * a.delta.to_double());
          else
            y[i] = static_cast<T>(a.value.to_long() + i * a.delta.to_long());
        }
        break;
      case ir::Op::Random:
        if constexpr (std::is_floating_point_v<C>) {
          for (int64_t i = 0; i < count; ++i)
            y[i] = T(a.distribution == ir::Distribution::Normal ? ir::philox_normal<C>(a.seed, i, a.offset)
                                                                : ir::philox_uniform<C>(a.seed, i, a.offset));
        }
        break;
      default:
        break;
    }
  });
}

}  // namespace kiln::runtime::reference
