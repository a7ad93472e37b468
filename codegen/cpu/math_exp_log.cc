// exp, log and pow for float and double as straight-line IR (no libm calls), so that loops using
// them vectorize. Polynomial coefficients are near-minimax fits (iteratively reweighted least
// squares in 60-digit mpmath) rounded to the target format, written as exact hex literals.
//
// Error bounds (max over the stated ranges; tests/codegen_cpu_test.cc measures them against
// glibc's long double functions, far more precise than either format; measured maxima in []):
//   exp  f32: <= 1.1 ulp on [-88, 88] [1.02]; subnormal results are rounded once, <= 1 ulp of
//             the subnormal grid [0.75]. f64: <= 1 ulp on [-708, 708] [0.96; subnormals 0.93].
//             exp = +inf above ln(MAX) and 0 below the subnormal range; exp(-inf) = 0,
//             exp(+inf) = +inf, NaN -> NaN.
//   log  f32, f64: <= 1 ulp for all positive finite inputs, subnormals included [0.82, 0.82].
//             log(0) = -inf, log(+inf) = +inf, log(x < 0) = NaN, NaN -> NaN.
//   pow  f32: exp(y*log|x|) evaluated in double: <= 1 ulp [0.50]. f64: log|x| in double-double
//             arithmetic (about 2^-100 relative), y*log|x| as an exact product, exp with the low
//             part folded into the reduced argument: <= 2 ulp [1.25]. Special cases follow C99
//             (pow(x, 0) = 1, pow(1, y) = 1, negative base with non-integer exponent = NaN, odd
//             integer exponents keep the sign, pow(-1, +-inf) = 1, zeros and infinities).
#include <cmath>

#include "codegen/cpu/internal.h"

namespace kiln::codegen::cpu {

using llvm::Value;

void Fp::two_prod(Value* x, Value* y, Value*& p, Value*& e) const {
  p = mul(x, y);
  if (target.has_fma) {
    e = intrinsic(llvm::Intrinsic::fma, {x, y, neg(p)});
    return;
  }
  // Dekker: split each factor into halves whose products are exact.
  double split = f32() ? 4097.0 : 134217729.0;  // 2^12 + 1, 2^27 + 1
  auto halves = [&](Value* v, Value*& hi, Value*& lo) {
    Value* t = mul(c(split), v);
    hi = sub(t, sub(t, v));
    lo = sub(v, hi);
  };
  Value *xh, *xl, *yh, *yl;
  halves(x, xh, xl);
  halves(y, yh, yl);
  e = add(add(add(sub(mul(xh, yh), p), mul(xh, yl)), mul(xl, yh)), mul(xl, yl));
}

void Fp::two_sum(Value* x, Value* y, Value*& s, Value*& e) const {
  s = add(x, y);
  Value* bb = sub(s, x);
  e = add(sub(x, sub(s, bb)), sub(y, bb));
}

void Fp::fast_two_sum(Value* x, Value* y, Value*& s, Value*& e) const {
  s = add(x, y);
  e = sub(y, sub(s, x));
}

namespace {

// ln 2 = LN2_HI + LN2_LO, with LN2_HI short enough that k*LN2_HI is exact for every exponent k
// the routines meet (|k| < 2^8 in float: 14 bits; |k| < 2^11 in double: 32 bits).
constexpr float kLn2HiF = 0x1.62e4p-1f;
constexpr float kLn2LoF = 0x1.7f7d1cp-20f;
constexpr double kLn2Hi = 0x1.62e42fee00000p-1;
constexpr double kLn2Lo = 0x1.a39ef35793c76p-33;

}  // namespace

// exp(x + xlo). x = k ln2 + r with k = rint(x/ln2), |r| <= ln2/2 (Cody-Waite: k*LN2_HI is exact
// and x - k*LN2_HI is exact by Sterbenz), exp(r) = 1 + r + r^2 E(r) with E a degree 4 (float,
// relative error 1.4e-7 in E, 1e-8 in exp(r)) or 10 (double, 6e-18) polynomial, and the result
// scaled by 2^k as 2^(k/2) * 2^(k - k/2) so that both factors are normal numbers and a subnormal
// result is rounded once. x is first clamped to [-104, 89] (double: [-746, 710]), beyond which
// the result is 0 or +inf anyway.
Value* emit_exp(const Fp& f, Value* x, Value* xlo) {
  bool f32 = f.f32();
  Value* lo = f.c(f32 ? -104.0 : -746.0);
  Value* hi = f.c(f32 ? 89.0 : 710.0);
  Value* xc = f.sel(f.gt(x, lo), x, lo);  // NaN -> lo, restored at the end
  xc = f.sel(f.lt(xc, hi), xc, hi);
  Value* kf = f.rint(f.mul(xc, f.c(f32 ? double(0x1.715476p+0f) : 0x1.71547652b82fep+0)));
  Value* r = f.sub(xc, f.mul(kf, f.c(f32 ? double(kLn2HiF) : kLn2Hi)));
  r = f.sub(r, f.mul(kf, f.c(f32 ? double(kLn2LoF) : kLn2Lo)));
  if (xlo) r = f.add(r, f.sel(f.eq(x, xc), xlo, f.c(0)));  // ignore xlo once x is clamped
  Value* e = f32 ? f.poly(r, {0x1p-1f, 0x1.5554dcp-3f, 0x1.5555bap-5f, 0x1.120bcp-7f, 0x1.6c6a3p-10f})
                 : f.poly(r, {0x1p-1, 0x1.5555555555557p-3, 0x1.555555555554ep-5, 0x1.11111111100cbp-7,
                              0x1.6c16c16c1a05bp-10, 0x1.a01a01abf279bp-13, 0x1.a01a0190763ffp-16,
                              0x1.71de020d7f055p-19, 0x1.27e5108d9ea85p-22, 0x1.af4e393b0a678p-26,
                              0x1.1f1aa8139026dp-29});
  Value* p = f.add(f.c(1), f.mad(f.mul(r, r), e, r));
  Value* k = f.to_int(kf);
  Value* k1 = f.b.CreateAShr(k, f.ci(1));
  Value* k2 = f.b.CreateSub(k, k1);
  Value* res = f.mul(f.mul(p, f.pow2i(k1)), f.pow2i(k2));
  return f.sel(f.isnan(x), x, res);
}

namespace {

// The pieces of a positive finite x = 2^e * m with m in [sqrt(1/2), sqrt(2)): returns m - 1
// (exact) and sets e (as a floating value). Subnormal x are scaled into the normal range first.
Value* split_exponent(const Fp& f, Value* x, Value*& ef) {
  bool f32 = f.f32();
  int shift = f32 ? 25 : 54;
  Value* sub = f.lt(x, f.c(f32 ? double(0x1p-126f) : 0x1p-1022));
  Value* xs = f.sel(sub, f.mul(x, f.c(std::ldexp(1.0, shift))), x);
  Value* bits = f.bits(xs);
  Value* e = f.b.CreateSub(f.b.CreateLShr(bits, f.ci(f.mant_bits())), f.ci(f.bias()));
  e = f.b.CreateSub(e, f.b.CreateSelect(sub, f.ci(shift), f.ci(0)));
  int64_t mant_mask = (int64_t{1} << f.mant_bits()) - 1;
  int64_t one_bits = int64_t(f.bias()) << f.mant_bits();
  Value* m = f.from_bits(f.b.CreateOr(f.b.CreateAnd(bits, f.ci(mant_mask)), f.ci(one_bits)));
  Value* big = f.gt(m, f.c(f32 ? double(0x1.6a09e6p+0f) : 0x1.6a09e667f3bcdp+0));
  m = f.sel(big, f.mul(m, f.c(0.5)), m);
  e = f.b.CreateAdd(e, f.b.CreateZExt(big, f.ity()));
  ef = f.from_int(e);
  return f.sub(m, f.c(1));
}

}  // namespace

// log(x) = e ln2 + log1p(fm), fm = m - 1 in [sqrt(1/2) - 1, sqrt(2) - 1]. With s = fm/(2 + fm),
// log1p(fm) = 2 atanh(s) = fm - hfsq + s (hfsq + z L(z)), z = s^2, hfsq = fm^2/2 (the fdlibm
// arrangement: the leading fm is exact and the rest is small). L: degree 3 (float, relative error
// 3.3e-8) or 6 (double, 4.7e-16); its error is scaled by z/3 <= 0.01 in the result.
Value* emit_log(const Fp& f, Value* x) {
  bool f32 = f.f32();
  Value* ef;
  Value* fm = split_exponent(f, x, ef);
  Value* s = f.div(fm, f.add(f.c(2), fm));
  Value* z = f.mul(s, s);
  Value* lz = f32 ? f.poly(z, {0x1.555556p-1f, 0x1.9999ecp-2f, 0x1.245c1ap-2f, 0x1.ddd7ap-3f})
                  : f.poly(z, {0x1.5555555555558p-1, 0x1.9999999995257p-2, 0x1.2492492e01a5ep-2,
                               0x1.c71c62d07a644p-3, 0x1.7462ba9e08912p-3, 0x1.39fd9c8f0d62ap-3,
                               0x1.2b61a5d7adb27p-3});
  Value* hfsq = f.mul(f.mul(f.c(0.5), fm), fm);
  Value* tail = f.add(f.mul(s, f.add(hfsq, f.mul(z, lz))), f.mul(ef, f.c(f32 ? double(kLn2LoF) : kLn2Lo)));
  Value* res = f.add(f.mul(ef, f.c(f32 ? double(kLn2HiF) : kLn2Hi)), f.sub(fm, f.sub(hfsq, tail)));
  res = f.sel(f.eq(x, f.inf()), x, res);
  res = f.sel(f.eq(x, f.c(0)), f.c(-INFINITY), res);
  res = f.sel(f.lt(x, f.c(0)), f.nan(), res);
  return f.sel(f.isnan(x), x, res);
}

namespace {

// log(x) for double x > 0 as hi + lo, relative error about 2^-100 (used by pow). As in emit_log,
// log1p(fm) = 2s + (2/3)s^3 + s^5 W(z), here with s = sh + sl to double-double precision, the
// s^3 term as double-double and W the Taylor series to z^9 (truncation error < 2^-65 of the
// result). Zero, infinity and NaN give (-inf | +inf | NaN, 0).
void log_dd(const Fp& f, Value* x, Value*& hi, Value*& lo) {
  Value* ef;
  Value* fm = split_exponent(f, x, ef);
  // u = 2 + fm exactly as uh + ul; sh = fm/u rounded, sl the exact remainder / u.
  Value *uh, *ul, *p, *pe;
  f.fast_two_sum(f.c(2), fm, uh, ul);
  Value* sh = f.div(fm, uh);
  f.two_prod(sh, uh, p, pe);
  Value* sl = f.div(f.sub(f.sub(f.sub(fm, p), pe), f.mul(sh, ul)), uh);
  // s^3 = (zh + ze) sh + 3 s^2 sl; times 2/3 in double-double.
  Value *zh, *ze, *ch, *ce, *th, *te;
  f.two_prod(sh, sh, zh, ze);
  f.two_prod(zh, sh, ch, ce);
  Value* cl = f.add(ce, f.add(f.mul(ze, sh), f.mul(f.mul(f.c(3), zh), sl)));
  constexpr double kTwoThirdsHi = 0x1.5555555555555p-1, kTwoThirdsLo = 0x1.5555555555555p-55;
  f.two_prod(ch, f.c(kTwoThirdsHi), th, te);
  Value* tl = f.add(te, f.add(f.mul(ch, f.c(kTwoThirdsLo)), f.mul(cl, f.c(kTwoThirdsHi))));
  Value* w = f.poly(zh, {2.0 / 5, 2.0 / 7, 2.0 / 9, 2.0 / 11, 2.0 / 13, 2.0 / 15, 2.0 / 17, 2.0 / 19, 2.0 / 21,
                         2.0 / 23});
  Value* s5w = f.mul(f.mul(f.mul(zh, zh), sh), w);
  Value *a, *ae;
  f.fast_two_sum(f.mul(f.c(2), sh), th, a, ae);
  Value* alo = f.add(ae, f.add(f.mul(f.c(2), sl), f.add(tl, s5w)));
  Value *l, *le;
  f.two_sum(f.mul(ef, f.c(kLn2Hi)), a, l, le);
  Value* llo = f.add(le, f.add(alo, f.mul(ef, f.c(kLn2Lo))));
  f.fast_two_sum(l, llo, hi, lo);
  // Special inputs.
  Value* special = f.b.CreateOr(f.eq(x, f.c(0)), f.b.CreateOr(f.eq(x, f.inf()), f.isnan(x)));
  hi = f.sel(f.eq(x, f.c(0)), f.c(-INFINITY), f.sel(special, x, hi));
  lo = f.sel(special, f.c(0), lo);
}

// pow(x, y) from its magnitude exp(y log|x|) and the C99 special cases.
Value* pow_specials(const Fp& f, Value* x, Value* y, Value* mag) {
  Value* yint = f.eq(f.trunc(y), y);  // +-inf count as even integers
  Value* half = f.mul(y, f.c(0.5));
  Value* yodd = f.b.CreateAnd(yint, f.ne(f.trunc(half), half));
  Value* xneg_sign = f.b.CreateICmpSLT(f.bits(x), f.ci(0));
  Value* res = f.sel(f.b.CreateAnd(xneg_sign, yodd), f.neg(mag), mag);
  Value* finite_neg = f.b.CreateAnd(f.lt(x, f.c(0)), f.isfinite(x));
  res = f.sel(f.b.CreateAnd(finite_neg, f.b.CreateNot(yint)), f.nan(), res);
  Value* is_inf_y = f.eq(f.abs(y), f.inf());
  res = f.sel(f.b.CreateAnd(f.eq(x, f.c(-1)), is_inf_y), f.c(1), res);
  return f.sel(f.b.CreateOr(f.eq(x, f.c(1)), f.eq(y, f.c(0))), f.c(1), res);
}

}  // namespace

Value* emit_pow(const Fp& f, Value* x, Value* y) {
  Value* ax = f.abs(x);
  Value* mag;
  if (f.f32()) {
    Fp d = f.with(f.b.getDoubleTy());
    Value* lx = emit_log(d, f.b.CreateFPExt(ax, d.ty));
    Value* prod = d.mul(f.b.CreateFPExt(y, d.ty), lx);
    mag = f.b.CreateFPTrunc(emit_exp(d, prod), f.ty);
  } else {
    Value *lh, *ll, *zh, *ze;
    log_dd(f, ax, lh, ll);
    f.two_prod(y, lh, zh, ze);
    Value* zl = f.add(ze, f.mul(y, ll));
    zl = f.sel(f.isfinite(zh), zl, f.c(0));
    mag = emit_exp(f, zh, zl);
  }
  return pow_specials(f, x, y, mag);
}

}  // namespace kiln::codegen::cpu
