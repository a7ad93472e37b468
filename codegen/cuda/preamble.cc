// The device helpers at the top of every generated kernel. They restate ir/semantics.h and
// ir/philox.h in CUDA C, so a kernel computes what the reference executor does (and, for random
// ops, the same streams, bit for bit for uniform values).
#include "codegen/cuda/internal.h"

namespace kiln::codegen::cuda {

const char* const kPreamble = R"(#define KILN_INF_F __int_as_float(0x7f800000)
#define KILN_NAN_F __int_as_float(0x7fffffff)
#define KILN_INF __longlong_as_double(0x7ff0000000000000LL)
#define KILN_NAN __longlong_as_double(0x7ff8000000000000LL)
#define KILN_FULL_MASK 0xffffffffu

// A value argument's elements, passed by value (a runtime scalar, a random node's seed and offset).
template <typename T, int N> struct KilnValues { T v[N]; };

// Division rounding toward negative infinity, and the matching remainder (index arithmetic).
__device__ __forceinline__ long long kiln_floordiv(long long a, long long b) {
  long long q = a / b;
  return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}
__device__ __forceinline__ long long kiln_floormod(long long a, long long b) {
  long long r = a % b;
  return (r != 0 && ((r < 0) != (b < 0))) ? r + b : r;
}

// torch.maximum / minimum: NaN propagates.
template <typename T> __device__ __forceinline__ T kiln_maximum(T a, T b) {
  return (isnan(a) || isnan(b)) ? a + b : (a > b ? a : b);
}
template <typename T> __device__ __forceinline__ T kiln_minimum(T a, T b) {
  return (isnan(a) || isnan(b)) ? a + b : (a < b ? a : b);
}

// Integer division made total, as on the CPU: x / 0 gives x, x / -1 wraps.
template <typename T> __device__ __forceinline__ T kiln_idiv(T x, T y) {
  if (y == 0) return x;
  if (T(-1) < T(0) && y == T(-1)) return (T)(0ULL - (unsigned long long)x);
  return (T)(x / y);
}

// Integer power by squaring, wrapping; negative exponents give 1 for base 1, +-1 for base -1,
// else 0.
template <typename T> __device__ __forceinline__ T kiln_ipow(T base, T e) {
  if (e < 0) return base == 1 ? T(1) : (base == T(-1) ? ((e & 1) ? T(-1) : T(1)) : T(0));
  unsigned long long result = 1, b = (unsigned long long)base;
  for (; e; e >>= 1) {
    if (e & 1) result *= b;
    if (e > 1) b *= b;
  }
  return (T)result;
}

// float16 and bfloat16 <-> float32: the integer algorithms of ir/half.h, so results match the
// CPU's bit for bit without cuda_fp16.h. float16: round to nearest even, overflow to inf, NaN kept
// (quiet); bfloat16: round to nearest even on the top 16 bits, NaN made quiet.
__device__ __forceinline__ float kiln_f16_to_f32(unsigned short h) {
  unsigned sign = (unsigned)(h & 0x8000u) << 16, em = h & 0x7fffu;
  if (em >= 0x7c00u) return __uint_as_float(sign | 0x7f800000u | ((em & 0x3ffu) << 13));
  if (em >= 0x0400u) return __uint_as_float(sign | ((em << 13) + 0x38000000u));
  return __uint_as_float(sign | __float_as_uint((float)em * 0x1p-24f));  // zero, subnormals: exact
}
__device__ __forceinline__ unsigned short kiln_f32_to_f16(float f) {
  unsigned x = __float_as_uint(f), sign = (x >> 16) & 0x8000u, a = x & 0x7fffffffu;
  if (a > 0x7f800000u) return (unsigned short)(sign | 0x7e00u | ((a >> 13) & 0x3ffu));
  if (a >= 0x477ff000u) return (unsigned short)(sign | 0x7c00u);
  // Below 2^-14, adding 0.5 aligns the value with the subnormals' unit; the add rounds to even.
  if (a < 0x38800000u) return (unsigned short)(sign | (__float_as_uint(__uint_as_float(a) + 0.5f) - 0x3f000000u));
  return (unsigned short)(sign | ((a - 0x38000000u + 0xfffu + ((a >> 13) & 1u)) >> 13));
}
__device__ __forceinline__ float kiln_bf16_to_f32(unsigned short b) { return __uint_as_float((unsigned)b << 16); }
__device__ __forceinline__ unsigned short kiln_f32_to_bf16(float f) {
  unsigned x = __float_as_uint(f);
  if ((x & 0x7fffffffu) > 0x7f800000u) return (unsigned short)((x >> 16) | 0x40u);
  return (unsigned short)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

// Warp shuffles of every dtype (narrow ones travel as int).
__device__ __forceinline__ float kiln_shfl_down(float v, int o) { return __shfl_down_sync(KILN_FULL_MASK, v, o); }
__device__ __forceinline__ double kiln_shfl_down(double v, int o) { return __shfl_down_sync(KILN_FULL_MASK, v, o); }
__device__ __forceinline__ int kiln_shfl_down(int v, int o) { return __shfl_down_sync(KILN_FULL_MASK, v, o); }
__device__ __forceinline__ long long kiln_shfl_down(long long v, int o) { return __shfl_down_sync(KILN_FULL_MASK, v, o); }
__device__ __forceinline__ bool kiln_shfl_down(bool v, int o) { return __shfl_down_sync(KILN_FULL_MASK, (int)v, o) != 0; }
__device__ __forceinline__ unsigned char kiln_shfl_down(unsigned char v, int o) { return (unsigned char)__shfl_down_sync(KILN_FULL_MASK, (int)v, o); }
__device__ __forceinline__ signed char kiln_shfl_down(signed char v, int o) { return (signed char)__shfl_down_sync(KILN_FULL_MASK, (int)v, o); }
__device__ __forceinline__ short kiln_shfl_down(short v, int o) { return (short)__shfl_down_sync(KILN_FULL_MASK, (int)v, o); }

// Philox4x32-10 (ir/philox.h): block for counter (index, offset) and key seed.
__device__ __forceinline__ void kiln_philox(unsigned long long seed, unsigned long long index,
                                            unsigned long long offset, unsigned* r) {
  unsigned c0 = (unsigned)index, c1 = (unsigned)(index >> 32), c2 = (unsigned)offset, c3 = (unsigned)(offset >> 32);
  unsigned k0 = (unsigned)seed, k1 = (unsigned)(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    unsigned long long p0 = 0xD2511F53ULL * c0, p1 = 0xCD9E8D57ULL * c2;
    unsigned n0 = (unsigned)(p1 >> 32) ^ c1 ^ k0, n1 = (unsigned)p1, n2 = (unsigned)(p0 >> 32) ^ c3 ^ k1, n3 = (unsigned)p0;
    c0 = n0; c1 = n1; c2 = n2; c3 = n3;
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  r[0] = c0; r[1] = c1; r[2] = c2; r[3] = c3;
}
__device__ __forceinline__ float kiln_uniform_f(const long long* p, long long i) {
  unsigned r[4];
  kiln_philox(p[0], i, p[1], r);
  return (float)(r[0] >> 8) * 0x1p-24f;
}
__device__ __forceinline__ double kiln_uniform(const long long* p, long long i) {
  unsigned r[4];
  kiln_philox(p[0], i, p[1], r);
  return (double)((((unsigned long long)r[0] << 32) | r[1]) >> 11) * 0x1p-53;
}
// Box-Muller in double on two words of the block, as the reference executor computes it.
__device__ __forceinline__ double kiln_normal(const long long* p, long long i) {
  unsigned r[4];
  kiln_philox(p[0], i, p[1], r);
  double u1 = ((double)((((unsigned long long)r[0] << 32) | r[1]) >> 11) + 1.0) * 0x1p-53;
  double u2 = (double)r[2] * 0x1p-32;
  return sqrt(-2.0 * log(u1)) * cos(0x1.921fb54442d18p+2 * u2);
}

)";

}  // namespace kiln::codegen::cuda
