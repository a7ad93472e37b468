// sin, cos, tanh and erf for float and double as straight-line IR (see math_exp_log.cc for how
// the coefficients were obtained). Error bounds, measured maxima in [] (codegen_cpu_test.cc):
//   sin, cos  f32: <= 1 ulp for |x| <= 1e8 [0.51] (reduction and polynomial in double, one
//             final rounding); f64: <= 2 ulp for |x| <= 1e8 [1.49]. Beyond 2^26 pi/2 ~ 1.05e8
//             the Cody-Waite reduction is no longer exact (there is no Payne-Hanek path): the
//             absolute error grows like |x| 2^-54 (still < 1 ulp in float up to ~1e9), and from
//             |x| ~ 2^52 on results are merely bounded by 1. sin/cos(+-inf) = NaN, NaN -> NaN,
//             sin(-0) = -0.
//   tanh      f32: absolute error <= 1.5e-7 everywhere [7.7e-8], relative <= 2 ulp [1.3]; f64:
//             absolute error <= 3e-16 [1.5e-16]. tanh(+-inf) = +-1, NaN -> NaN, tanh(-0) = -0.
//   erf       f32: absolute error <= 1.5e-7 everywhere [6.8e-8]; f64: absolute error <= 3e-16
//             [1.3e-16]. erf(+-inf) = +-1, NaN -> NaN, erf(-0) = -0.
#include <cmath>

#include "codegen/cpu/internal.h"

namespace kiln::codegen::cpu {

using llvm::Value;

// x = k pi/2 + r, |r| <= pi/4 (slightly more when rint(x 2/pi) rounds the other way). pi/2 is
// split into three 27-bit parts and a 53-bit one, so k*C1..k*C3 are exact for |k| < 2^26 and
// x - k*C1 is exact by Sterbenz. Then sin r = r + r^3 S(r^2), cos r = 1 - r^2/2 + r^4 C(r^2)
// (the 1 - r^2/2 part compensated as in fdlibm), picked and signed by the quadrant k mod 4.
// Float inputs are widened to double and use shorter polynomials (S: relative error 1.7e-10,
// C: 4.9e-8, both scaled down by at least 10 in the result); double uses S of degree 6
// (5.7e-17) and C of degree 5 (5.6e-17).
Value* emit_sincos(const Fp& f, Value* x, bool cosine) {
  Fp d = f.with(f.b.getDoubleTy());
  bool single = f.f32();
  Value* xd = single ? f.b.CreateFPExt(x, d.ty) : x;
  Value* finite = d.isfinite(xd);
  Value* xs = d.sel(finite, xd, d.c(0));
  Value* kf = d.rint(d.mul(xs, d.c(0x1.45f306dc9c883p-1)));
  // r = ((x - k C1) - k C2) - k C3 - k C4 with the rounding error of the second subtraction kept
  // (two_sum), so that r is rounded once; x - k C1 and k C1..k C3 are exact.
  Value *r2, *e2;
  d.two_sum(d.sub(xs, d.mul(kf, d.c(0x1.921fb54p+0))), d.neg(d.mul(kf, d.c(0x1.10b461p-30))), r2, e2);
  Value* r = d.add(r2, d.sub(d.sub(e2, d.mul(kf, d.c(0x1.a62633p-58))), d.mul(kf, d.c(0x1.45c06e0e68948p-86))));
  // From |x| ~ 2^52 on, k itself is inexact and r meaningless: keep the result bounded.
  r = d.sel(d.lt(d.abs(r), d.c(1)), r, d.c(0));
  // Quadrant: k - 4 floor(k/4) in {0, 1, 2, 3}, exact for any k (no integer overflow).
  Value* q = d.sub(kf, d.mul(d.c(4), d.floor(d.mul(kf, d.c(0.25)))));
  Value* qi = f.b.CreateFPToSI(q, f.b.getInt32Ty());
  if (cosine) qi = f.b.CreateAdd(qi, f.b.getInt32(1));
  Value* z = d.mul(r, r);
  Value* sp = single ? d.poly(z, {-0x1.5555555459d25p-3, 0x1.11110de4db59dp-7, -0x1.a0139abe02e6ap-13,
                                   0x1.6dba27cc9f91bp-19})
                     : d.poly(z, {-0x1.5555555555555p-3, 0x1.1111111111110p-7, -0x1.a01a01a019919p-13,
                                  0x1.71de3a545d048p-19, -0x1.ae64540cc7a9ap-26, 0x1.61217a707f599p-33,
                                  -0x1.ab152fb7bdae1p-41});
  Value* s = d.mad(d.mul(r, z), sp, r);
  Value* cp = single ? d.poly(z, {0x1.5555543e86596p-5, -0x1.6c12cbb8f038cp-10, 0x1.9bd50011eeee3p-16})
                     : d.poly(z, {0x1.5555555555555p-5, -0x1.6c16c16c1695cp-10, 0x1.a01a019f4c41bp-16,
                                  -0x1.27e4fa14c7788p-22, 0x1.1eeb65ca94740p-29, -0x1.907b717376f9dp-37});
  Value* hz = d.mul(d.c(0.5), z);
  Value* w = d.sub(d.c(1), hz);
  Value* c = d.add(w, d.add(d.sub(d.sub(d.c(1), w), hz), d.mul(d.mul(z, z), cp)));
  Value* odd = f.b.CreateICmpNE(f.b.CreateAnd(qi, f.b.getInt32(1)), f.b.getInt32(0));
  Value* negate = f.b.CreateICmpNE(f.b.CreateAnd(qi, f.b.getInt32(2)), f.b.getInt32(0));
  Value* v = d.sel(odd, c, s);
  v = d.sel(negate, d.neg(v), v);
  if (!cosine) v = d.sel(d.eq(xd, d.c(0)), xd, v);  // sin(-0) = -0
  v = d.sel(finite, v, d.nan());
  return single ? f.b.CreateFPTrunc(v, f.ty) : v;
}

// |x| < 0.625: tanh x = x + x^3 P(x^2), P of degree 5 (float, relative error 4.3e-9 in tanh) or
// 11 (double, 7.1e-18). Otherwise tanh |x| = 1 - 2/(exp(2|x|) + 1), whose rounding errors are
// absolute (at most about 1e-7 in float, 2e-16 in double), with the sign copied back.
Value* emit_tanh(const Fp& f, Value* x) {
  bool f32 = f.f32();
  Value* ax = f.abs(x);
  Value* z = f.mul(x, x);
  Value* p = f32 ? f.poly(z, {-0x1.555556p-2f, 0x1.1110eap-3f, -0x1.ba08c8p-5f, 0x1.64a9ap-6f, -0x1.116ae4p-7f,
                              0x1.2c86a4p-9f})
                 : f.poly(z, {-0x1.5555555555555p-2, 0x1.11111111110a8p-3, -0x1.ba1ba1ba0f16fp-5,
                              0x1.664f487e0ba43p-6, -0x1.226e34740796ap-7, 0x1.d6d39aeaca1f3p-9,
                              -0x1.7d9f6f87510c9p-10, 0x1.3526ed6614b05p-11, -0x1.f243aa6e4d6ddp-13,
                              0x1.844618570a6fap-14, -0x1.05bd04d0dcc67p-15, 0x1.b33a64c752564p-18});
  Value* small = f.mad(f.mul(x, z), p, x);
  Value* e = emit_exp(f, f.mul(f.c(2), ax));
  Value* large = f.sub(f.c(1), f.div(f.c(2), f.add(e, f.c(1))));
  // NaN takes the large branch: NaN. The sign is copied last so that tanh(-0) = -0.
  return f.copysign(f.sel(f.lt(ax, f.c(0.625)), small, large), x);
}

// |x| < 0.875: erf x = x E(x^2), in float x (c0 + z P(z)) with c0 = 2/sqrt(pi) split into two
// floats and P of degree 4 (relative error 2.1e-8), in double E of degree 11 (1.4e-17).
// Otherwise erf |x| = 1 - exp(-x^2) Q(1/|x| - c) with Q a fit of erfc(x) exp(x^2) weighted by exp(-x^2) (absolute error of erf
// 5.2e-9 in float with degree 7 on [0.875, 4], 1.3e-17 in double with degree 20 on [0.875, 6]);
// |x| is clamped at 4 (double: 6), where erf rounds to 1.
Value* emit_erf(const Fp& f, Value* x) {
  bool f32 = f.f32();
  Value* ax = f.abs(x);
  Value* z = f.mul(x, x);
  Value* small =
      f32 ? f.mad(x, f.c(0x1.20dd76p+0f),  // x (c0 + z P(z)) with c0 = 2/sqrt(pi) as float hi + lo
                  f.mul(x, f.mad(z, f.poly(z, {-0x1.81271cp-2f, 0x1.ce2326p-4f, -0x1.b70bcap-6f, 0x1.4a488ap-8f,
                                               -0x1.471a78p-11f}),
                                 f.c(-0x1.f7ac92p-25f))))
          : f.mul(x, f.poly(z, {0x1.20dd750429b6dp+0, -0x1.812746b0379e4p-2, 0x1.ce2f21a042992p-4,
                                -0x1.b82ce3127abcep-6, 0x1.565bcd0baed39p-8, -0x1.c02db35e6fbf5p-11,
                                0x1.f9a30f2faa675p-14, -0x1.f4d00d0a43f92p-17, 0x1.b9c0560a69914p-20,
                                -0x1.5dca53ac5e0e1p-23, 0x1.e517c92fc00f2p-27, -0x1.dbd1e9a186394p-31}));
  Value* top = f.c(f32 ? 4.0 : 6.0);
  Value* xc = f.sel(f.lt(ax, top), ax, top);
  Value* u = f.sub(f.div(f.c(1), xc), f.c(f32 ? 0.6875 : 0.65625));
  Value* q = f32 ? f.poly(u, {0x1.51156ep-2f, 0x1.71effcp-2f, -0x1.4f5c78p-3f, 0x1.88d068p-5f, 0x1.6e85d8p-7f,
                              -0x1.102ef2p-5f, 0x1.f3d39ep-6f, -0x1.af05d6p-7f})
                 : f.poly(u, {0x1.455ba1dea9f2cp-2, 0x1.7c8f2e8b81fb5p-2, -0x1.5868b0605a50cp-3,
                              0x1.7ae48e17410b8p-5, 0x1.0fbdf1efe334fp-6, -0x1.430867da7c2b9p-5,
                              0x1.364c00eefd1c9p-5, -0x1.89e4394ab76f1p-6, 0x1.b9b806db0e104p-8,
                              0x1.0d4d7dafd20f2p-7, -0x1.2116887acf976p-6, 0x1.4fc4f3bfa18b9p-6,
                              -0x1.1c5065e07aca0p-6, 0x1.44d8021189cdap-7, -0x1.9eb3236b78640p-12,
                              -0x1.282867aa24d93p-7, 0x1.0c81bcb12891dp-6, -0x1.3ba065318bc1dp-6,
                              0x1.02fa9bd768139p-6, -0x1.09af7c4b56d66p-7, 0x1.f958156165283p-10});
  Value* e = emit_exp(f, f.neg(f.mul(xc, xc)));
  Value* large = f.sub(f.c(1), f.mul(e, q));
  Value* res = f.copysign(f.sel(f.lt(ax, f.c(0.875)), small, large), x);  // erf(-0) = -0
  return f.sel(f.isnan(x), x, res);
}

}  // namespace kiln::codegen::cpu
