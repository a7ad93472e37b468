// The loop every movement op is made of: copy an array of `shape` from one strided layout to
// another (gathers read strided, scatters write strided).
#pragma once

#include <cstdint>
#include <vector>

#include "ir/shape.h"

namespace kiln::runtime::reference {

// Calls fn(src_index, dst_index) for each element of `shape` in row-major order.
template <typename Fn>
void for_each_strided(const Shape& shape, int64_t src_offset, const Shape& src_strides, int64_t dst_offset,
                      const Shape& dst_strides, Fn&& fn) {
  int64_t count = numel(shape);
  if (count == 0) return;
  size_t rank = shape.size();
  std::vector<int64_t> idx(rank, 0);
  int64_t s = src_offset, d = dst_offset;
  for (int64_t i = 0; i < count; ++i) {
    fn(s, d);
    for (size_t k = rank; k-- > 0;) {
      if (++idx[k] < shape[k]) {
        s += src_strides[k];
        d += dst_strides[k];
        break;
      }
      s -= (shape[k] - 1) * src_strides[k];
      d -= (shape[k] - 1) * dst_strides[k];
      idx[k] = 0;
    }
  }
}

}  // namespace kiln::runtime::reference
