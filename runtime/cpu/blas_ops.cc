#include "runtime/cpu/blas_ops.h"

#include <cblas.h>

#include <mutex>
#include <vector>

#include "runtime/thread_pool.h"

namespace kiln::runtime::cpu {

namespace {

// [..., M, K] x [..., K, N], batch by batch; a transposed operand is stored [..., K, M] (or
// [..., N, K]).
template <typename T, typename Gemm>
void batched_gemm(const ir::Node& n, const void* a_ptr, const void* b_ptr, void* out, bool trans_a, bool trans_b,
                  Gemm gemm) {
  const Shape& sa = n.inputs[0]->shape;
  size_t r = sa.size();
  int64_t m = sa[r - 2], k = sa[r - 1], cols = n.shape[r - 1];
  int64_t batch = m * cols == 0 ? 0 : n.numel() / (m * cols);
  const T* a = static_cast<const T*>(a_ptr);
  const T* b = static_cast<const T*>(b_ptr);
  T* y = static_cast<T*>(out);
  for (int64_t p = 0; p < batch; ++p)
    gemm(CblasRowMajor, trans_a ? CblasTrans : CblasNoTrans, trans_b ? CblasTrans : CblasNoTrans, m, cols, k, T(1),
         a + p * m * k, trans_a ? m : k, b + p * k * cols, trans_b ? k : cols, T(0), y + p * m * cols, cols);
}

// float16 and bfloat16 (PyTorch's CPU rule): the operands widened to float32, sgemm (float32
// accumulation), each result rounded once.
template <typename T>
void widened_gemm(const ir::Node& n, const reference::Inputs& in, void* out, bool trans_a, bool trans_b) {
  auto widen = [](const void* p, int64_t count) {
    const T* x = static_cast<const T*>(p);
    std::vector<float> v(static_cast<size_t>(count));
    for (int64_t i = 0; i < count; ++i) v[i] = static_cast<float>(x[i]);
    return v;
  };
  std::vector<float> a = widen(in[0], n.inputs[0]->numel()), b = widen(in[1], n.inputs[1]->numel());
  std::vector<float> y(static_cast<size_t>(n.numel()));
  batched_gemm<float>(n, a.data(), b.data(), y.data(), trans_a, trans_b, cblas_sgemm);
  T* o = static_cast<T*>(out);
  for (int64_t i = 0; i < n.numel(); ++i) o[i] = T(y[i]);
}

}  // namespace

void run_extern(const ir::Node& n, const reference::Inputs& in, void* out, const std::vector<bool>& transposed) {
  bool trans_a = !transposed.empty() && transposed[0], trans_b = transposed.size() > 1 && transposed[1];
  if (n.op == ir::Op::MatMul && n.numel() > 0 && n.inputs[0]->shape.back() > 0) {
    static std::once_flag sized;  // OpenBLAS gets as many threads as the (then idle) pool
    std::call_once(sized, configure_blas_threads);
    if (n.dtype == kFloat32) return batched_gemm<float>(n, in[0], in[1], out, trans_a, trans_b, cblas_sgemm);
    if (n.dtype == kFloat64) return batched_gemm<double>(n, in[0], in[1], out, trans_a, trans_b, cblas_dgemm);
    if (n.dtype == kFloat16) return widened_gemm<Half>(n, in, out, trans_a, trans_b);
    if (n.dtype == kBFloat16) return widened_gemm<BFloat16>(n, in, out, trans_a, trans_b);
  }
  reference::run_node(n, in, out);
}

}  // namespace kiln::runtime::cpu
