// float16 and bfloat16: the storage types' conversions at their edges (bit patterns worked out by
// hand), PyTorch's promotion table, the float32-compute-and-round rule on fused JIT kernels
// against the reference executor bit for bit, float32 accumulation in reductions, matmul,
// autocast (forward and backward) and gradients through casts.
#include <gtest/gtest.h>

#include <bit>
#include <cstdio>
#include <cmath>
#include <cstring>
#include <limits>
#include <sstream>
#include <vector>

#include "kiln/kiln.h"
#include "kiln/nn/conv.h"
#include "kiln/nn/functional.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using testing::expect_near;
using testing::values;

float f32(uint32_t bits) { return std::bit_cast<float>(bits); }
uint32_t bits_of(float f) { return std::bit_cast<uint32_t>(f); }

// ---- conversions ----------------------------------------------------------------------------

TEST(HalfConversion, FloatToHalfAtTheEdges) {
  EXPECT_EQ(Half(1.0f).bits, 0x3c00);
  EXPECT_EQ(Half(-2.0f).bits, 0xc000);
  EXPECT_EQ(Half(-0.0f).bits, 0x8000);
  EXPECT_EQ(Half(65504.0f).bits, 0x7bff);   // largest finite
  EXPECT_EQ(Half(65519.99f).bits, 0x7bff);  // below the halfway point to 65536
  EXPECT_EQ(Half(65520.0f).bits, 0x7c00);   // halfway: ties to even, 0x7bff is odd -> inf
  EXPECT_EQ(Half(1e10f).bits, 0x7c00);
  EXPECT_EQ(Half(-std::numeric_limits<float>::infinity()).bits, 0xfc00);
  EXPECT_EQ(Half(0x1p-14f).bits, 0x0400);                 // smallest normal
  EXPECT_EQ(Half(0x1p-24f).bits, 0x0001);                 // smallest subnormal
  EXPECT_EQ(Half(1023 * 0x1p-24f).bits, 0x03ff);          // largest subnormal
  EXPECT_EQ(Half(0x1p-25f).bits, 0x0000);                 // tie between 0 and 2^-24: even (0)
  EXPECT_EQ(Half(3 * 0x1p-25f).bits, 0x0002);             // tie between 1 and 2 units: even (2)
  EXPECT_EQ(Half(0x1.8p-25f).bits, 0x0001);               // 0.75 units: up
  EXPECT_EQ(Half(-0x1p-26f).bits, 0x8000);                // underflows to -0
  EXPECT_EQ(Half(0x1.ffcp-15f).bits, 0x0400);             // 1023.5 units: tie, up to the normal 0x400
  EXPECT_EQ(Half(1.0f + 0x1p-11f).bits, 0x3c00);          // tie, 0x3c00 even
  EXPECT_EQ(Half(1.0f + 3 * 0x1p-11f).bits, 0x3c02);      // tie, 0x3c01 odd -> 0x3c02
  EXPECT_EQ(Half(1.0f + 0x1p-11f + 0x1p-20f).bits, 0x3c01);  // just above the tie
  EXPECT_EQ(Half(2049.0f).bits, 0x6800);                  // 2048 (even) and 2050: tie -> 2048
  EXPECT_EQ(Half(2051.0f).bits, 0x6802);                  // 2050 (odd) and 2052: tie -> 2052
  // NaN stays NaN: quiet, sign and top payload bits kept.
  EXPECT_EQ(Half(std::numeric_limits<float>::quiet_NaN()).bits, 0x7e00);
  EXPECT_EQ(Half(f32(0xffc00000)).bits, 0xfe00);
  EXPECT_EQ(Half(f32(0x7f802000)).bits, 0x7e01);  // a signalling NaN: made quiet, payload kept
}

TEST(HalfConversion, HalfToFloatIsExact) {
  EXPECT_EQ(static_cast<float>(Half::from_bits(0x7bff)), 65504.0f);
  EXPECT_EQ(static_cast<float>(Half::from_bits(0x0400)), 0x1p-14f);
  EXPECT_EQ(static_cast<float>(Half::from_bits(0x0001)), 0x1p-24f);
  EXPECT_EQ(static_cast<float>(Half::from_bits(0x03ff)), 1023 * 0x1p-24f);
  EXPECT_EQ(static_cast<float>(Half::from_bits(0x3555)), 0x1.554p-2f);
  EXPECT_EQ(bits_of(static_cast<float>(Half::from_bits(0x8000))), 0x80000000u);
  EXPECT_EQ(static_cast<float>(Half::from_bits(0xfc00)), -std::numeric_limits<float>::infinity());
  EXPECT_TRUE(std::isnan(static_cast<float>(Half::from_bits(0x7e00))));
  EXPECT_TRUE(std::isnan(static_cast<float>(Half::from_bits(0x7c01))));
  // Every half survives float and back (NaNs as NaNs, quieted).
  for (uint32_t h = 0; h < 0x10000; ++h) {
    Half x = Half::from_bits(static_cast<uint16_t>(h));
    Half back(static_cast<float>(x));
    if ((h & 0x7c00) == 0x7c00 && (h & 0x3ff)) EXPECT_EQ(back.bits, h | 0x200) << std::hex << h;
    else EXPECT_EQ(back.bits, h) << std::hex << h;
  }
}

#ifdef __FLT16_MAX__
// GCC's _Float16 (libgcc's __truncsfhf2) as an independent oracle over a spread of floats.
TEST(HalfConversion, AgreesWithTheCompilersFloat16) {
  int mismatches = 0;
  for (uint64_t u = 0; u < (uint64_t{1} << 32); u += 4093) {
    float f = f32(static_cast<uint32_t>(u));
    if (std::isnan(f)) continue;
    _Float16 r = static_cast<_Float16>(f);
    uint16_t want;
    std::memcpy(&want, &r, 2);
    if (Half(f).bits != want && ++mismatches < 5) ADD_FAILURE() << std::hex << u << ": " << Half(f).bits << " " << want;
  }
  EXPECT_EQ(mismatches, 0);
}
#endif

TEST(BFloat16Conversion, RoundsToNearestEvenOnTheTop16Bits) {
  EXPECT_EQ(BFloat16(1.0f).bits, 0x3f80);
  EXPECT_EQ(BFloat16(f32(0x3f808000)).bits, 0x3f80);  // tie, 0x3f80 even
  EXPECT_EQ(BFloat16(f32(0x3f818000)).bits, 0x3f82);  // tie, 0x3f81 odd -> up
  EXPECT_EQ(BFloat16(f32(0x3f808001)).bits, 0x3f81);  // above the tie
  EXPECT_EQ(BFloat16(f32(0x3f807fff)).bits, 0x3f80);  // below it
  EXPECT_EQ(BFloat16(std::numeric_limits<float>::max()).bits, 0x7f80);  // rounds up to inf
  EXPECT_EQ(BFloat16(f32(0x7f7f7fff)).bits, 0x7f7f);                    // largest finite stays
  EXPECT_EQ(BFloat16(f32(0x00000001)).bits, 0x0000);                    // float subnormals
  EXPECT_EQ(BFloat16(f32(0x00018000)).bits, 0x0002);
  EXPECT_EQ(BFloat16(-0.0f).bits, 0x8000);
  EXPECT_EQ(BFloat16(std::numeric_limits<float>::quiet_NaN()).bits, 0x7fc0);
  EXPECT_EQ(BFloat16(f32(0x7f800001)).bits, 0x7fc0);  // signalling NaN: quiet, not inf
  EXPECT_EQ(BFloat16(f32(0xff810000)).bits, 0xffc1);
  EXPECT_EQ(static_cast<float>(BFloat16::from_bits(0x4049)), 3.140625f);
  for (uint32_t h = 0; h < 0x10000; ++h) {
    BFloat16 x = BFloat16::from_bits(static_cast<uint16_t>(h));
    uint32_t want = ((h & 0x7f80) == 0x7f80 && (h & 0x7f)) ? (h | 0x40) : h;
    EXPECT_EQ(BFloat16(static_cast<float>(x)).bits, want) << std::hex << h;
  }
}

TEST(HalfConversion, ScalarsTensorsAndItem) {
  EXPECT_EQ(Scalar(Half(0.5f)).to<double>(), 0.5);
  EXPECT_EQ(Scalar(0.1).to<Half>().bits, 0x2e66);
  EXPECT_EQ(Scalar(0.1).to<BFloat16>().bits, 0x3dcd);
  Tensor t = tensor({0.1, 65504.0, 1e6, -0.0}, dtype(kFloat16));
  EXPECT_EQ(t.dtype(), kFloat16);
  EXPECT_EQ(element_size(t.dtype()), 2u);
  const Half* p = t.data_ptr<Half>();
  EXPECT_EQ(p[0].bits, 0x2e66);
  EXPECT_EQ(p[1].bits, 0x7bff);
  EXPECT_EQ(p[2].bits, 0x7c00);
  EXPECT_EQ(p[3].bits, 0x8000);
  EXPECT_EQ(t[0].item<float>(), static_cast<float>(Half::from_bits(0x2e66)));
  std::vector<BFloat16> raw = {BFloat16(1.5f), BFloat16(-3.0f)};
  Tensor b = from_blob(raw.data(), {2}, dtype(kBFloat16));
  EXPECT_EQ(b.to(kFloat32).to_vector<float>(), (std::vector<float>{1.5f, -3.0f}));
  EXPECT_EQ(dtype_name(kHalf), "float16");
  EXPECT_EQ(dtype_name(kBFloat16), "bfloat16");
  EXPECT_EQ(dtype_short_name(kFloat16), "f16");
  EXPECT_EQ(dtype_short_name(kBFloat16), "bf16");
  EXPECT_TRUE(is_floating(kBFloat16));
  std::ostringstream printed;
  printed << tensor({1.5, 2.0}, dtype(kFloat16));
  EXPECT_NE(printed.str().find("Half"), std::string::npos) << printed.str();
}

// ---- promotion (torch.promote_types, torch.result_type, torch.can_cast) ------------------------

TEST(HalfPromotion, MatchesTorchPromoteTypes) {
  EXPECT_EQ(promote_types(kFloat16, kBFloat16), kFloat32);
  EXPECT_EQ(promote_types(kBFloat16, kFloat16), kFloat32);
  EXPECT_EQ(promote_types(kFloat16, kFloat16), kFloat16);
  EXPECT_EQ(promote_types(kFloat16, kFloat32), kFloat32);
  EXPECT_EQ(promote_types(kBFloat16, kFloat32), kFloat32);
  EXPECT_EQ(promote_types(kBFloat16, kFloat64), kFloat64);
  EXPECT_EQ(promote_types(kFloat16, kFloat64), kFloat64);
  for (ScalarType i : {kBool, kUInt8, kInt8, kInt16, kInt32, kInt64}) {
    EXPECT_EQ(promote_types(i, kFloat16), kFloat16) << dtype_name(i);
    EXPECT_EQ(promote_types(kBFloat16, i), kBFloat16) << dtype_name(i);
  }
  EXPECT_TRUE(can_cast(kInt64, kFloat16));
  EXPECT_TRUE(can_cast(kFloat64, kBFloat16));
  EXPECT_TRUE(can_cast(kFloat16, kBFloat16));
  EXPECT_FALSE(can_cast(kFloat16, kInt32));
  EXPECT_FALSE(can_cast(kBFloat16, kBool));
}

TEST(HalfPromotion, TensorsAndScalarsAsTorchResultType) {
  Tensor h = ones({2}, dtype(kFloat16)), b = ones({2}, dtype(kBFloat16)), i = ones({2}, dtype(kInt32));
  Tensor flag = ones({2}, dtype(kBool));
  EXPECT_EQ((h + 1.5).dtype(), kFloat16);         // a float scalar keeps a float16 tensor
  EXPECT_EQ((b * 2).dtype(), kBFloat16);
  EXPECT_EQ((i + 1.5).dtype(), kFloat32);         // int tensor, float scalar: the default dtype
  EXPECT_EQ((flag * 2.5).dtype(), kFloat32);
  EXPECT_EQ((h + b).dtype(), kFloat32);
  EXPECT_EQ((h + ones({2}, dtype(kFloat32))).dtype(), kFloat32);
  EXPECT_EQ((h + tensor(2.0, dtype(kFloat64))).dtype(), kFloat16);  // a 0-dim float of one category
  EXPECT_EQ((i + tensor(2.0, dtype(kBFloat16))).dtype(), kBFloat16);  // a 0-dim float lifts ints
  EXPECT_EQ((i + h).dtype(), kFloat16);
  EXPECT_EQ((i / i).dtype(), kFloat32);
  EXPECT_EQ((h < 2).dtype(), kBool);
  EXPECT_EQ(result_type(h, 1.5), kFloat16);
}

// ---- float32 compute, rounded per op --------------------------------------------------------

// The stored bits of a float16 or bfloat16 tensor.
std::vector<uint16_t> bits(const Tensor& t) {
  Tensor c = t.contiguous();
  std::vector<uint16_t> out(static_cast<size_t>(c.numel()));
  const void* p = c.dtype() == kFloat16 ? static_cast<const void*>(c.data_ptr<Half>()) : c.data_ptr<BFloat16>();
  if (c.numel()) std::memcpy(out.data(), p, out.size() * 2);
  return out;
}

TEST(HalfArithmetic, EachOpRoundsItsFloat32Result) {
  Tensor one = full({1}, 1.0, dtype(kFloat16)), eps = full({1}, 0x1p-11, dtype(kFloat16));
  EXPECT_EQ(bits(one + eps), (std::vector<uint16_t>{0x3c00}));              // 1 + 2^-11: tie to even
  EXPECT_EQ(bits(one + eps + eps), (std::vector<uint16_t>{0x3c00}));        // rounded after each add
  EXPECT_EQ(bits(one + (eps + eps)), (std::vector<uint16_t>{0x3c01}));
  EXPECT_EQ(bits(full({1}, 300.0, dtype(kFloat16)) * 300), (std::vector<uint16_t>{0x7c00}));  // overflow: inf
  EXPECT_EQ(bits(full({1}, 1.0, dtype(kFloat16)) / 3), (std::vector<uint16_t>{0x3555}));
  Tensor bone = full({1}, 1.0, dtype(kBFloat16));
  EXPECT_EQ(bits(bone + 0x1p-8), (std::vector<uint16_t>{0x3f80}));
  EXPECT_EQ(bits(bone + 0x1.8p-8), (std::vector<uint16_t>{0x3f81}));
  EXPECT_EQ(bits(bone / 3), (std::vector<uint16_t>{0x3eab}));
  // Casts between the two go through float32.
  EXPECT_EQ(bits(full({1}, 0x1p-20, dtype(kBFloat16)).to(kFloat16)), (std::vector<uint16_t>{0x0010}));
  EXPECT_EQ(bits(full({1}, 1e5, dtype(kBFloat16)).to(kFloat16)), (std::vector<uint16_t>{0x7c00}));
  EXPECT_EQ(bits(full({1}, 2049.0, dtype(kInt32)).to(kFloat16)), (std::vector<uint16_t>{0x6800}));
  EXPECT_EQ(full({1}, 2.75, dtype(kFloat16)).to(kInt64).item<int64_t>(), 2);
}

// Random values of `t` in [-4, 4), with a few specials.
Tensor sample(const Shape& shape, ScalarType t, uint64_t seed) {
  manual_seed(seed);
  return (rand(shape) * 8 - 4).to(t).eval();
}

// The same graph through the JIT (fused) and through the reference executor: equal bits.
void expect_jit_matches_reference(const std::function<Tensor()>& graph, const char* what) {
  std::vector<uint16_t> jit = bits(graph()), ref;
  {
    BackendGuard reference(Backend::Reference);
    ref = bits(graph());
  }
  ASSERT_EQ(jit.size(), ref.size());
  int differ = 0;
  for (size_t i = 0; i < jit.size(); ++i)
    if (jit[i] != ref[i] && ++differ <= 5) ADD_FAILURE() << what << " at " << i << ": jit " << std::hex << jit[i] << " reference " << ref[i];
  EXPECT_EQ(differ, 0) << what;
}

class HalfTypes : public ::testing::TestWithParam<ScalarType> {};

TEST_P(HalfTypes, FusedElementwiseChainsMatchTheReferenceBitForBit) {
  ScalarType t = GetParam();
  Tensor a = sample({37, 19}, t, 1), b = sample({37, 19}, t, 2), c = sample({19}, t, 3);
  expect_jit_matches_reference([&] { return ((a * b + c) / (a - 0.3)).relu() * 1.7 - b; }, "arithmetic");
  expect_jit_matches_reference([&] { return where(a > b, a * c, b.neg()); }, "where");
  expect_jit_matches_reference([&] { return (a.exp() + b.abs().sqrt()).tanh() + c.sigmoid(); }, "transcendentals");
  expect_jit_matches_reference([&] { return (a.to(kFloat32) * 3).to(t) + b.to(kInt32).to(t); }, "casts");
  expect_jit_matches_reference([&] { return maximum(a, b).floor() + minimum(a, c).round(); }, "max, min, rounding");
  expect_jit_matches_reference([&] { return (a == b.round()).to(t) + (a <= c).to(t); }, "comparisons");
  Tensor specials = tensor({0.0, -0.0, 65504.0, 1e-7, 1e30, -1e30}, dtype(kFloat32)).to(t);
  expect_jit_matches_reference([&] { return specials * 2 + specials / 7; }, "specials");
}

TEST_P(HalfTypes, ReductionsAccumulateInFloat32) {
  ScalarType t = GetParam();
  // 4096 ones: a float16 accumulator would stop at 2048, a bfloat16 one at 256.
  EXPECT_EQ(ones({4096}, dtype(t)).sum().item<double>(), 4096.0);
  EXPECT_EQ(ones({4096}, dtype(t)).sum().dtype(), t);
  EXPECT_EQ(ones({64, 1000}, dtype(t)).sum(1).to(kFloat32).max().item<double>(), 1000.0);
  EXPECT_EQ(ones({1000}, dtype(t)).mean().item<double>(), 1.0);
  // Values on a 1/8 grid sum exactly in float32, so fused (vectorized, reordered) and reference
  // sums round to the same value.
  manual_seed(4);
  Tensor grid = (rand({33, 257}) * 64).floor().div(8).to(t).eval();
  expect_jit_matches_reference([&] { return grid.sum(1); }, "sum");
  expect_jit_matches_reference([&] { return grid.sum(0) * 0.5; }, "sum over the outer axis");
  expect_jit_matches_reference([&] { return grid.amax(1) - grid.amin(1); }, "max and min");
  expect_jit_matches_reference([&] { return grid.argmax(1).to(t); }, "argmax");
  // The float32 sum of the same values, rounded once.
  std::vector<double> want = values(grid.to(kFloat32).sum(1).to(t));
  expect_near(values(grid.sum(1)), want, 0);
}

TEST_P(HalfTypes, SoftmaxAndLayerNormComputeInFloat32AndRoundOnce) {
  ScalarType t = GetParam();
  Tensor x = sample({16, 50}, t, 5);
  expect_jit_matches_reference([&] { return x.softmax(1); }, "softmax");
  expect_jit_matches_reference([&] { return x.log_softmax(1); }, "log_softmax");
  EXPECT_EQ(x.softmax(1).dtype(), t);
  // Within half an ulp of the type (rounding once) plus float32's own error, of the float32 result.
  double ulp = t == kFloat16 ? 0x1p-10 : 0x1p-7;
  std::vector<double> got = values(x.softmax(1)), want = values(x.to(kFloat32).softmax(1));
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], std::abs(want[i]) * ulp / 2 + 1e-7) << i;
  Tensor ln = nn::functional::layer_norm(x, nn::functional::LayerNormFuncOptions({50}));
  EXPECT_EQ(ln.dtype(), t);
  std::vector<double> ln32 = values(nn::functional::layer_norm(x.to(kFloat32), nn::functional::LayerNormFuncOptions({50})));
  got = values(ln);
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], ln32[i], std::abs(ln32[i]) * ulp / 2 + 1e-6) << i;
}

TEST_P(HalfTypes, MatmulWidensToFloat32AndRoundsOnce) {
  ScalarType t = GetParam();
  Tensor a = sample({2, 33, 65}, t, 6), b = sample({2, 65, 17}, t, 7);
  Tensor y = a.matmul(b);
  EXPECT_EQ(y.dtype(), t);
  std::vector<double> exact = values(a.to(kFloat64).matmul(b.to(kFloat64)));
  std::vector<double> got = values(y);
  double ulp = t == kFloat16 ? 0x1p-10 : 0x1p-7, worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    // One rounding of the float32 sum (65 products of magnitude <= 16): half an ulp of the
    // result, plus float32's accumulated error.
    double err = std::abs(got[i] - exact[i]);
    EXPECT_LE(err, std::abs(exact[i]) * ulp / 2 + 65 * 16 * 0x1p-23) << i;
    worst = std::max(worst, err / (std::abs(exact[i]) + 1));
  }
  std::printf("%s matmul: worst error %.3g relative to |exact| + 1\n", dtype_name(t).data(), worst);
  std::vector<double> reference;
  {
    BackendGuard r(Backend::Reference);
    reference = values(a.matmul(b));
  }
  // Both accumulate in float32 (in different orders): the same after rounding, or one ulp apart.
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], reference[i], std::abs(reference[i]) * ulp + 1e-6) << i;
}

TEST_P(HalfTypes, GradientsFlowThroughCasts) {
  ScalarType t = GetParam();
  Tensor x = tensor({0.5, -1.25, 3.0}, dtype(kFloat32)).requires_grad_();
  Tensor y = (x.to(t) * x.to(t)).to(kFloat32).sum();
  y.backward();
  EXPECT_EQ(x.grad().dtype(), kFloat32);
  EXPECT_EQ(x.grad().to_vector<float>(), (std::vector<float>{1.0f, -2.5f, 6.0f}));
  // A leaf of the 16-bit type gets a gradient of its type.
  Tensor h = tensor({1.5, 2.0}, dtype(t)).requires_grad_();
  (h * h * 3).sum().backward();
  EXPECT_EQ(h.grad().dtype(), t);
  EXPECT_EQ(h.grad().to(kFloat32).to_vector<float>(), (std::vector<float>{9.0f, 12.0f}));
}

INSTANTIATE_TEST_SUITE_P(Dtypes, HalfTypes, ::testing::Values(kFloat16, kBFloat16),
                         [](const ::testing::TestParamInfo<ScalarType>& i) { return std::string(dtype_name(i.param)); });

// ---- autocast -------------------------------------------------------------------------------

TEST(Autocast, GuardEnablesAndRestores) {
  EXPECT_FALSE(autocast::is_enabled(kCPU));
  EXPECT_EQ(autocast::get_dtype(kCPU), kBFloat16);
  EXPECT_EQ(autocast::get_autocast_dtype(kCUDA), kFloat16);
  {
    AutocastGuard guard(kCPU, kFloat16);
    EXPECT_TRUE(autocast::is_autocast_enabled(kCPU));
    EXPECT_EQ(autocast::get_dtype(kCPU), kFloat16);
    {
      AutocastGuard off(kCPU, std::nullopt, false);
      EXPECT_FALSE(autocast::is_enabled(kCPU));
    }
    EXPECT_TRUE(autocast::is_enabled(kCPU));
  }
  EXPECT_FALSE(autocast::is_enabled(kCPU));
  EXPECT_EQ(autocast::get_dtype(kCPU), kBFloat16);
  EXPECT_KILN_ERROR(autocast::set_dtype(kCPU, kInt32), "autocast", "int32");
}

TEST(Autocast, MatmulLinearAndConvRunInTheAutocastDtype) {
  Tensor x = randn({4, 8}), w = randn({3, 8}), bias = randn({3});
  Tensor img = randn({1, 2, 5, 5}), filt = randn({4, 2, 3, 3}), fb = randn({4});
  AutocastGuard guard(kCPU);
  EXPECT_EQ(x.matmul(w.t()).dtype(), kBFloat16);
  EXPECT_EQ(nn::functional::linear(x, w, bias).dtype(), kBFloat16);
  EXPECT_EQ(bias.addmm(x, w.t()).dtype(), kBFloat16);
  EXPECT_EQ(x.mm(w.t()).dtype(), kBFloat16);
  EXPECT_EQ(nn::functional::conv2d(img, filt, nn::functional::Conv2dFuncOptions().bias(fb)).dtype(), kBFloat16);
  EXPECT_EQ((x + 1).dtype(), kFloat32);  // other ops unchanged
  EXPECT_EQ(x.to(kFloat64).matmul(w.to(kFloat64).t()).dtype(), kFloat64);  // float64 is not cast
  std::vector<double> got = values(x.matmul(w.t()));
  std::vector<double> want = values(x.to(kBFloat16).to(kFloat32).matmul(w.to(kBFloat16).to(kFloat32).t()));
  expect_near(got, want, 0x1p-8);
}

TEST(Autocast, LinearModelGivesFloat32GradientsCloseToTheFloat32Models) {
  manual_seed(11);
  Tensor w1 = (randn({16, 8}) * 0.3).requires_grad_(), b1 = zeros({16}).requires_grad_();
  Tensor w2 = (randn({1, 16}) * 0.3).requires_grad_();
  Tensor x = randn({32, 8}), target = randn({32, 1});
  auto loss_of = [&] {
    // tanh, not relu: a pre-activation near 0 that bfloat16 rounds across 0 would flip relu's
    // mask and move that unit's gradient by a whole sample's share.
    Tensor h = nn::functional::linear(x, w1, b1).tanh();
    Tensor y = nn::functional::linear(h, w2);
    return (y.to(kFloat32) - target).pow(2).mean();
  };
  Tensor loss32 = loss_of();
  loss32.backward();
  std::vector<double> g1 = values(w1.grad()), gb = values(b1.grad()), g2 = values(w2.grad());
  w1.mutable_grad().zero_();
  b1.mutable_grad().zero_();
  w2.mutable_grad().zero_();
  Tensor loss16;
  {
    AutocastGuard guard(kCPU);
    loss16 = loss_of();
  }
  loss16.backward();
  EXPECT_EQ(w1.grad().dtype(), kFloat32);
  EXPECT_EQ(b1.grad().dtype(), kFloat32);
  EXPECT_NEAR(loss16.item<double>(), loss32.item<double>(), 0.02 * loss32.item<double>());
  // bfloat16 keeps 8 significant bits: gradients agree to a few percent of their scale.
  auto close = [](const std::vector<double>& got, const std::vector<double>& want) {
    double scale = 0;
    for (double v : want) scale = std::max(scale, std::abs(v));
    double worst = 0;
    for (size_t i = 0; i < got.size(); ++i) {
      EXPECT_NEAR(got[i], want[i], 0.05 * scale) << i;
      worst = std::max(worst, std::abs(got[i] - want[i]) / scale);
    }
    std::printf("autocast gradient: worst error %.4f of the gradient's largest magnitude\n", worst);
  };
  close(values(w1.grad()), g1);
  close(values(b1.grad()), gb);
  close(values(w2.grad()), g2);
}

}  // namespace
}  // namespace kiln
