#include <type_traits>
#include <vector>

#include "runtime/reference/accumulator.h"
#include "runtime/reference/kernels.h"

namespace kiln::runtime::reference {

namespace {

template <typename T>
void run(const ir::Node& n, const T* a, const T* b, T* y) {
  const Shape& sa = n.inputs[0]->shape;
  size_t r = sa.size();
  int64_t m = sa[r - 2], k = sa[r - 1], cols = n.shape[r - 1];
  int64_t batch = m * cols == 0 ? 0 : n.numel() / (m * cols);
  std::vector<Accumulator<T>> row(cols);
  for (int64_t p = 0; p < batch; ++p, a += m * k, b += k * cols, y += m * cols) {
    for (int64_t i = 0; i < m; ++i) {
      std::fill(row.begin(), row.end(), Accumulator<T>(0));
      for (int64_t q = 0; q < k; ++q) {
        auto aiq = static_cast<Accumulator<T>>(a[i * k + q]);
        for (int64_t j = 0; j < cols; ++j)
          row[j] = wrapping_add(row[j], wrapping_mul(aiq, static_cast<Accumulator<T>>(b[q * cols + j])));
      }
      for (int64_t j = 0; j < cols; ++j) y[i * cols + j] = static_cast<T>(row[j]);
    }
  }
}

}  // namespace

void run_matmul(const ir::Node& n, const Inputs& in, void* out) {
  dispatch_dtype(n.dtype, [&]<typename T>() {
    run<T>(n, static_cast<const T*>(in[0]), static_cast<const T*>(in[1]), static_cast<T*>(out));
  });
}

}  // namespace kiln::runtime::reference
