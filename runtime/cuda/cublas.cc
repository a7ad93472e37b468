#include "runtime/cuda/cublas.h"

#include <dlfcn.h>

#include <algorithm>
#include <cstdlib>
#include <string>

#include "ir/error.h"

namespace kiln::runtime::cuda {

namespace {

using Handle = struct cublasContext*;
using Status = int;
constexpr int kOpN = 0, kOpT = 1;  // cublasOperation_t

template <typename T>
using GemmStridedBatched = Status (*)(Handle, int, int, int, int, int, const T*, const T*, int, long long, const T*,
                                      int, long long, const T*, T*, int, long long, int);

struct Cublas {
  Status (*create)(Handle*) = nullptr;
  Status (*set_stream)(Handle, CUstream) = nullptr;
  GemmStridedBatched<float> sgemm = nullptr;
  GemmStridedBatched<double> dgemm = nullptr;
  std::string problem;
};

Cublas load() {
  Cublas c;
  const char* chosen = std::getenv("KILN_CUBLAS");
  void* handle = nullptr;
  for (const char* library : {chosen && *chosen ? chosen : "libcublas.so.13", "/usr/local/cuda/lib64/libcublas.so.13",
                              "libcublas.so.12", "libcublas.so"})
    if ((handle = dlopen(library, RTLD_NOW | RTLD_LOCAL))) break;
  if (!handle) {
    c.problem = std::string("cuBLAS is not available: ") + dlerror();
    return c;
  }
  c.create = reinterpret_cast<decltype(c.create)>(dlsym(handle, "cublasCreate_v2"));
  c.set_stream = reinterpret_cast<decltype(c.set_stream)>(dlsym(handle, "cublasSetStream_v2"));
  c.sgemm = reinterpret_cast<decltype(c.sgemm)>(dlsym(handle, "cublasSgemmStridedBatched"));
  c.dgemm = reinterpret_cast<decltype(c.dgemm)>(dlsym(handle, "cublasDgemmStridedBatched"));
  if (!c.create || !c.set_stream || !c.sgemm || !c.dgemm) c.problem = "cuBLAS lacks cublasCreate_v2 or a gemm";
  return c;
}

const Cublas& cublas() {
  static const Cublas c = load();
  check(c.problem.empty(), "matmul", {}, c.problem);
  return c;
}

// A device's cuBLAS handle, bound to its stream.
struct CublasHandle {
  Handle h = nullptr;
  explicit CublasHandle(CudaDevice& device) {
    const Cublas& c = cublas();
    check(c.create(&h) == 0, "matmul", {}, "cublasCreate failed on cuda:" + std::to_string(device.index()));
    check(c.set_stream(h, device.stream()) == 0, "matmul", {}, "cublasSetStream failed");
  }
};

// Row-major [m, k] x [k, n] is column-major C^T = B^T A^T: cuBLAS multiplies the operands swapped,
// each read as stored (a row-major matrix is its transpose in column-major order).
template <typename T>
void gemm(GemmStridedBatched<T> f, Handle h, const ir::Node& n, const void* a, const void* b, void* out, bool trans_a,
          bool trans_b) {
  const Shape& sa = n.inputs[0]->shape;
  size_t r = sa.size();
  int64_t m = sa[r - 2], k = sa[r - 1], cols = n.shape[r - 1];
  int64_t batch = m * cols == 0 ? 0 : n.numel() / (m * cols);
  if (batch == 0) return;
  // cuBLAS wants leading dimensions of at least 1, also where an operand is empty (k == 0: the
  // product is zeros, which beta = 0 writes).
  auto ld = [](int64_t d) { return static_cast<int>(std::max<int64_t>(d, 1)); };
  const T one = 1, zero = 0;
  Status s = f(h, trans_b ? kOpT : kOpN, trans_a ? kOpT : kOpN, static_cast<int>(cols), static_cast<int>(m),
               static_cast<int>(k), &one, static_cast<const T*>(b), ld(trans_b ? k : cols), k * cols,
               static_cast<const T*>(a), ld(trans_a ? m : k), m * k, &zero, static_cast<T*>(out), ld(cols), m * cols,
               static_cast<int>(batch));
  check(s == 0, "matmul", n.loc, [&] { return "cuBLAS gemm failed with status " + std::to_string(s); });
}

}  // namespace

void cublas_matmul(const CudaDevice& device, const ir::Node& n, const void* a, const void* b, void* out, bool trans_a,
                   bool trans_b) {
  device.make_current();
  Handle h = per_device<CublasHandle>(device.index(), "matmul").h;
  if (n.dtype == kFloat32) return gemm(cublas().sgemm, h, n, a, b, out, trans_a, trans_b);
  if (n.dtype == kFloat64) return gemm(cublas().dgemm, h, n, a, b, out, trans_a, trans_b);
  throw Error("matmul", "cuBLAS multiplies float32 and float64 here, not " + std::string(dtype_name(n.dtype)), n.loc);
}

}  // namespace kiln::runtime::cuda
