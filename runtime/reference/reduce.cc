#include <vector>

#include "runtime/reference/accumulator.h"
#include "runtime/reference/kernels.h"
#include "runtime/reference/strided.h"

namespace kiln::runtime::reference {

namespace {

template <typename T>
void run(const ir::Node& n, const T* x, void* out) {
  const Shape& in_shape = n.inputs[0]->shape;
  Shape in_strides = contiguous_strides(in_shape);
  // The output index of an input element: its index with the reduced axes zeroed.
  Shape out_strides = contiguous_strides(n.shape);
  for (int64_t axis : n.attrs.axes) out_strides[axis] = 0;
  int64_t out_count = n.numel();
  if (!ir::is_arg_reduction(n.op)) {
    using A = Accumulator<T>;  // ir::reduction_combine in a wider type: the oracle is more exact
    std::vector<A> acc(out_count, ir::reduction_identity<A>(n.op));
    for_each_strided(in_shape, 0, in_strides, 0, out_strides,
                     [&](int64_t s, int64_t d) { acc[d] = ir::reduction_combine<A>(n.op, acc[d], A(x[s])); });
    for (int64_t i = 0; i < out_count; ++i) static_cast<T*>(out)[i] = static_cast<T>(acc[i]);
    return;
  }
  // argmax/argmin (one axis): ir::arg_replaces decides, the position is the index along the axis.
  std::vector<T> best(out_count, ir::reduction_identity<T>(n.op));
  std::vector<int64_t> where(out_count, 0);
  int64_t axis_stride = in_strides[n.attrs.axes[0]], axis_size = in_shape[n.attrs.axes[0]];
  for_each_strided(in_shape, 0, in_strides, 0, out_strides, [&](int64_t s, int64_t d) {
    if (ir::arg_replaces<T>(n.op, x[s], best[d])) {
      best[d] = x[s];
      where[d] = (s / axis_stride) % axis_size;
    }
  });
  for (int64_t i = 0; i < out_count; ++i) static_cast<int64_t*>(out)[i] = where[i];
}

}  // namespace

void run_reduce(const ir::Node& n, const Inputs& in, void* out) {
  dispatch_dtype(n.inputs[0]->dtype, [&]<typename T>() { run<T>(n, static_cast<const T*>(in[0]), out); });
}

}  // namespace kiln::runtime::reference
