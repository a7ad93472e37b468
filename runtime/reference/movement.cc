#include <cstring>

#include "runtime/reference/kernels.h"
#include "runtime/reference/strided.h"

namespace kiln::runtime::reference {

namespace {

template <typename T>
void copy(const Shape& shape, const T* src, int64_t src_offset, const Shape& src_strides, T* dst, int64_t dst_offset,
          const Shape& dst_strides) {
  for_each_strided(shape, src_offset, src_strides, dst_offset, dst_strides,
                   [&](int64_t s, int64_t d) { dst[d] = src[s]; });
}

template <typename T>
void run(const ir::Node& n, const Inputs& in, T* y) {
  const ir::Attrs& a = n.attrs;
  const Shape& in_shape = n.inputs[0]->shape;
  Shape in_strides = contiguous_strides(in_shape);
  Shape out_strides = contiguous_strides(n.shape);
  const T* x = static_cast<const T*>(in[0]);
  size_t rank = n.shape.size();
  switch (n.op) {
    case ir::Op::Reshape:
      std::memcpy(static_cast<void*>(y), x, sizeof(T) * n.numel());
      return;
    case ir::Op::Permute: {
      Shape strides(rank);
      for (size_t k = 0; k < rank; ++k) strides[k] = in_strides[a.axes[k]];
      return copy(n.shape, x, 0, strides, y, 0, out_strides);
    }
    case ir::Op::Expand: {
      Shape strides = in_strides;
      for (size_t k = 0; k < rank; ++k)
        if (in_shape[k] != n.shape[k]) strides[k] = 0;
      return copy(n.shape, x, 0, strides, y, 0, out_strides);
    }
    case ir::Op::Slice: {
      Shape strides(rank);
      int64_t offset = 0;
      for (size_t k = 0; k < rank; ++k) {
        offset += a.low[k] * in_strides[k];
        strides[k] = a.step[k] * in_strides[k];
      }
      return copy(n.shape, x, offset, strides, y, 0, out_strides);
    }
    case ir::Op::Pad: {
      T fill = a.value.to<T>();
      for (int64_t i = 0; i < n.numel(); ++i) y[i] = fill;
      Shape strides(rank);
      int64_t offset = 0;
      for (size_t k = 0; k < rank; ++k) {
        offset += a.low[k] * out_strides[k];
        strides[k] = (a.interior[k] + 1) * out_strides[k];
      }
      return copy(in_shape, x, 0, in_strides, y, offset, strides);
    }
    case ir::Op::Concat: {
      int64_t axis = a.axes[0];
      int64_t offset = 0;
      for (size_t i = 0; i < in.size(); ++i) {
        const Shape& part = n.inputs[i]->shape;
        copy(part, static_cast<const T*>(in[i]), 0, contiguous_strides(part), y, offset * out_strides[axis],
             out_strides);
        offset += part[axis];
      }
      return;
    }
    default:
      return;
  }
}

}  // namespace

void run_movement(const ir::Node& n, const Inputs& in, void* out) {
  dispatch_dtype(n.dtype, [&]<typename T>() { run<T>(n, in, static_cast<T*>(out)); });
}

}  // namespace kiln::runtime::reference
