// Philox4x32-10 (Salmon et al., "Parallel random numbers: as easy as 1, 2, 3", SC'11): a
// counter-based generator, so element i of a random tensor is a pure function of (seed, i, offset)
// and any backend (the reference executor, a JIT kernel, a CUDA thread) produces the same stream.
#pragma once

#include <array>
#include <cmath>
#include <cstdint>

namespace kiln::ir {

using PhiloxBlock = std::array<uint32_t, 4>;

constexpr PhiloxBlock philox4x32(uint64_t seed, uint64_t index, uint64_t offset) {
  PhiloxBlock c = {uint32_t(index), uint32_t(index >> 32), uint32_t(offset), uint32_t(offset >> 32)};
  uint32_t k0 = uint32_t(seed), k1 = uint32_t(seed >> 32);
  for (int round = 0; round < 10; ++round) {
    uint64_t p0 = uint64_t{0xD2511F53u} * c[0];
    uint64_t p1 = uint64_t{0xCD9E8D57u} * c[2];
    c = {uint32_t(p1 >> 32) ^ c[1] ^ k0, uint32_t(p1), uint32_t(p0 >> 32) ^ c[3] ^ k1, uint32_t(p0)};
    k0 += 0x9E3779B9u;
    k1 += 0xBB67AE85u;
  }
  return c;
}

// Uniform in [0, 1) with the full mantissa of T.
template <typename T> T philox_uniform(uint64_t seed, uint64_t index, uint64_t offset) {
  PhiloxBlock r = philox4x32(seed, index, offset);
  if constexpr (sizeof(T) == 4) return static_cast<T>(r[0] >> 8) * T(0x1p-24);
  else return static_cast<T>(((uint64_t{r[0]} << 32 | r[1]) >> 11)) * T(0x1p-53);
}

// Standard normal by Box-Muller on two words of the same block, computed in double.
template <typename T> T philox_normal(uint64_t seed, uint64_t index, uint64_t offset) {
  PhiloxBlock r = philox4x32(seed, index, offset);
  double u1 = (static_cast<double>((uint64_t{r[0]} << 32 | r[1]) >> 11) + 1.0) * 0x1p-53;  // in (0, 1]
  double u2 = static_cast<double>(r[2]) * 0x1p-32;
  return static_cast<T>(std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2));
}

}  // namespace kiln::ir
