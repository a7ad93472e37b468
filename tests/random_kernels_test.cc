// Random numbers inside kernels: Philox4x32-10 against its published known answers, the fused
// streams bit for bit those of the reference executor (so moving `random` into kernels changed no
// stream), a bernoulli mask that fuses into the kernel it multiplies, and new draws that compile
// nothing.
#include <gtest/gtest.h>

#include <cstring>
#include <vector>

#include "ir/philox.h"
#include "kiln/kiln.h"
#include "tests/testing.h"

namespace kiln {
namespace {

// Random123's kat_vectors for philox4x32_10: counter {c0..c3}, key {k0, k1} -> output. Kiln's
// counter is (element index, offset) as (c0 | c1 << 32, c2 | c3 << 32) and its key the seed.
TEST(RandomKernels, PhiloxMatchesThePublishedKnownAnswers) {
  struct Kat {
    uint32_t ctr[4], key[2], out[4];
  };
  const Kat kats[] = {
      {{0, 0, 0, 0}, {0, 0}, {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8}},
      {{0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff},
       {0xffffffff, 0xffffffff},
       {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd}},
      {{0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344},
       {0xa4093822, 0x299f31d0},
       {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1}},
  };
  for (const Kat& k : kats) {
    uint64_t index = uint64_t{k.ctr[1]} << 32 | k.ctr[0], offset = uint64_t{k.ctr[3]} << 32 | k.ctr[2];
    uint64_t seed = uint64_t{k.key[1]} << 32 | k.key[0];
    ir::PhiloxBlock r = ir::philox4x32(seed, index, offset);
    for (int i = 0; i < 4; ++i) EXPECT_EQ(r[i], k.out[i]) << std::hex << "word " << i << " of ctr " << k.ctr[0];
  }
}

template <typename T>
void expect_bitwise(const std::vector<T>& got, const std::vector<T>& want, const char* what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < got.size(); ++i)
    ASSERT_EQ(std::memcmp(&got[i], &want[i], sizeof(T)), 0) << what << " at " << i << ": " << got[i] << " vs " << want[i];
}

TEST(RandomKernels, FusedStreamsAreTheReferenceStreamsBitForBit) {
  auto draw = [](Backend backend) {
    BackendGuard on(backend);
    manual_seed(1234);
    Tensor u32 = rand({1000}), n32 = randn({1000});
    Tensor u64 = rand({7, 33}, dtype(kFloat64)), n64 = randn({999}, dtype(kFloat64));
    Tensor fused = randn({64, 16}) * 2 + rand({64, 16});  // two draws inside one kernel
    std::vector<std::vector<double>> out;
    for (const Tensor& t : {u32, n32, u64, n64, fused}) out.push_back(t.to_vector<double>());
    return out;
  };
  std::vector<std::vector<double>> jit = draw(Backend::Jit), ref = draw(Backend::Reference);
  const char* names[] = {"rand f32", "randn f32", "rand f64", "randn f64", "randn * 2 + rand"};
  for (size_t i = 0; i < jit.size(); ++i) expect_bitwise(jit[i], ref[i], names[i]);
  // And element i is Philox's element i: the definition, not just agreement.
  manual_seed(99);
  std::vector<double> u = rand({5}, dtype(kFloat64)).to_vector<double>();
  for (uint64_t i = 0; i < 5; ++i) EXPECT_EQ(u[i], ir::philox_uniform<double>(99, i, 0));
}

TEST(RandomKernels, ABernoulliMaskFusesAndNewDrawsCompileNothing) {
  Tensor x = (arange(4096, dtype(kFloat32)).reshape({64, 64}) * 0.001).eval();
  auto step = [&](bool dropout) {
    Tensor h = (x * 2 + 1).relu();
    if (dropout) h = h * bernoulli(h, 0.8) / 0.8;  // dropout as nn::Dropout will write it
    return h.sum({1});
  };
  Stats before = stats();
  step(false).eval();
  int64_t plain = stats().kernels_launched - before.kernels_launched;
  manual_seed(3);
  before = stats();
  Tensor y = step(true);
  std::vector<float> got = y.to_vector<float>();
  EXPECT_EQ(stats().kernels_launched - before.kernels_launched, plain);  // the mask added no kernel
  // The same draw through the reference executor.
  std::vector<float> want = [&] {
    BackendGuard on(Backend::Reference);
    manual_seed(3);
    return step(true).to_vector<float>();
  }();
  for (size_t i = 0; i < got.size(); ++i) EXPECT_NEAR(got[i], want[i], 1e-4 * (1 + std::abs(want[i]))) << i;
  // Each later step draws a new mask (a new offset) and compiles nothing.
  int64_t compiled = stats().kernels_compiled;
  std::vector<float> previous = got;
  for (int s = 0; s < 5; ++s) {
    std::vector<float> next = step(true).to_vector<float>();
    EXPECT_NE(next, previous) << "step " << s << " drew the same mask";
    previous = next;
  }
  EXPECT_EQ(stats().kernels_compiled, compiled);
}

TEST(RandomKernels, BernoulliDrawsOnesWithTheGivenProbability) {
  manual_seed(8);
  Tensor p = full({100000}, 0.3);
  double mean = bernoulli(p).mean().item<double>();
  EXPECT_NEAR(mean, 0.3, 0.01);
  Tensor m = bernoulli(ones({4, 4}, dtype(kFloat64)), 0.0);
  EXPECT_EQ(m.sum().item<double>(), 0.0);
  EXPECT_THROW(bernoulli(ones({2}), 1.5), Error);
  EXPECT_THROW(bernoulli(ones({2}, dtype(kInt64))), Error);
}

}  // namespace
}  // namespace kiln
