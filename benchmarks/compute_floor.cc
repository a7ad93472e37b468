// W1's compute floor: gelu_tanh(x * 1.5 + 0.5) * sigmoid(x) as a hand-written AVX-512 loop doing
// exactly the arithmetic of Kiln's fused kernel (the golden W1 kernel in tests/kernel_ir_test.cc:
// gelu as a / (1 + exp(-1.5957691669464111 * (a + 0.044715 a^3))), sigmoid as 1 / (1 + exp(-x)))
// with Kiln's float exp (codegen/cpu/math_exp_log.cc: the same clamp, Cody-Waite reduction,
// degree-4 polynomial with FMAs and two-step scaling), hence the same results and error bounds.
// Nothing is spent on addressing, loop structure or launches: the loop Kiln's kernel should
// match. On a CPU without AVX-512 the row reports an error and the target reads n/a.
#include <immintrin.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "benchmarks/bench_common.h"

namespace kiln_bench {
namespace {

#define KILN_AVX512 __attribute__((target("avx512f")))

// 2^n for n in the normal exponent range.
KILN_AVX512 inline __m512 Pow2(__m512i n) {
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(n, _mm512_set1_epi32(127)), 23));
}

KILN_AVX512 inline __m512 Exp(__m512 x) {
  const __m512 lo = _mm512_set1_ps(-104.f), hi = _mm512_set1_ps(89.f);
  __m512 xc = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, lo, _CMP_GT_OQ), lo, x);  // NaN -> lo
  xc = _mm512_mask_blend_ps(_mm512_cmp_ps_mask(xc, hi, _CMP_LT_OQ), hi, xc);
  __m512 kf = _mm512_roundscale_ps(_mm512_mul_ps(xc, _mm512_set1_ps(0x1.715476p+0f)),
                                   _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  __m512 r = _mm512_sub_ps(xc, _mm512_mul_ps(kf, _mm512_set1_ps(0x1.62e4p-1f)));
  r = _mm512_sub_ps(r, _mm512_mul_ps(kf, _mm512_set1_ps(0x1.7f7d1cp-20f)));
  __m512 e = _mm512_set1_ps(0x1.6c6a3p-10f);
  for (float c : {0x1.120bcp-7f, 0x1.5555bap-5f, 0x1.5554dcp-3f, 0x1p-1f}) e = _mm512_fmadd_ps(e, r, _mm512_set1_ps(c));
  __m512 p = _mm512_add_ps(_mm512_set1_ps(1.f), _mm512_fmadd_ps(_mm512_mul_ps(r, r), e, r));
  __m512i k = _mm512_cvtps_epi32(kf);
  __m512i k1 = _mm512_srai_epi32(k, 1), k2 = _mm512_sub_epi32(k, k1);
  __m512 res = _mm512_mul_ps(_mm512_mul_ps(p, Pow2(k1)), Pow2(k2));
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, x, _CMP_UNORD_Q), res, x);
}

// y[i] for i in [begin, end), a multiple of 16 apart.
KILN_AVX512 void W1Floor(const float* x, float* y, int64_t begin, int64_t end) {
  const __m512 one = _mm512_set1_ps(1.f);
  for (int64_t i = begin; i < end; i += 16) {
    __m512 v = _mm512_loadu_ps(x + i);
    __m512 a = _mm512_add_ps(_mm512_mul_ps(v, _mm512_set1_ps(1.5f)), _mm512_set1_ps(0.5f));
    __m512 inner = _mm512_add_ps(a, _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(a, a), a), _mm512_set1_ps(0.044714998453855515f)));
    __m512 gelu = _mm512_div_ps(a, _mm512_add_ps(Exp(_mm512_mul_ps(inner, _mm512_set1_ps(-1.5957691669464111f))), one));
    __m512 sigmoid = _mm512_div_ps(one, _mm512_add_ps(one, Exp(_mm512_sub_ps(_mm512_setzero_ps(), v))));
    _mm512_storeu_ps(y + i, _mm512_mul_ps(gelu, sigmoid));
  }
}

void Run(const float* x, float* y, int64_t n) {
  RunOnTwoThreads([&](int part) {
    int64_t half = n / 2 / 16 * 16;
    W1Floor(x, y, part ? half : 0, part ? n : half);
  });
}

struct Data {
  std::vector<float> x, y;
};

Data& W1Data() {
  static std::unique_ptr<Data> d;
  if (!d) {
    d = std::make_unique<Data>(Data{std::vector<float>(kW1Numel), std::vector<float>(kW1Numel)});
    std::mt19937 rng(0);
    std::normal_distribution<float> normal;
    for (float& v : d->x) v = normal(rng);
  }
  return *d;
}

}  // namespace

bool ComputeFloorAvailable() { return __builtin_cpu_supports("avx512f"); }

std::string CheckComputeFloor() {
  if (!ComputeFloorAvailable()) return "compute floor W1_gelu: n/a (no AVX-512)\n";
  std::vector<float> x(4096), y(4096);
  for (size_t i = 0; i < x.size(); ++i) x[i] = -12.f + 24.f * float(i) / float(x.size());
  Run(x.data(), y.data(), int64_t(x.size()));
  double worst = 0;
  for (size_t i = 0; i < x.size(); ++i) {
    double v = x[i], a = v * 1.5 + 0.5;
    double want = 0.5 * a * (1 + std::tanh(0.7978845608028654 * (a + 0.044715 * a * a * a))) / (1 + std::exp(-v));
    worst = std::fmax(worst, std::fabs(y[i] - want) / (1e-6 + std::fabs(want)));
  }
  char line[128];
  std::snprintf(line, sizeof line, "compute floor W1_gelu: %s, max relative |diff| %.2e\n",
                worst < 1e-5 ? "ok" : "MISMATCH", worst);
  return line;
}

void RegisterComputeFloorBenchmark() {
  benchmark::RegisterBenchmark("W1_gelu/compute_floor",
                               [](benchmark::State& state) {
                                 if (!ComputeFloorAvailable()) {
                                   state.SkipWithError("no AVX-512 on this CPU");
                                   return;
                                 }
                                 Data& d = W1Data();
                                 SetCounters(state, Work::W1,
                                             TimedLoop(state, [&] { Run(d.x.data(), d.y.data(), kW1Numel); }));
                               })
      ->UseRealTime()
      ->Unit(benchmark::kMillisecond);
}

}  // namespace kiln_bench
