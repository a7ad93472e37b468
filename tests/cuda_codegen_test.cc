// The CUDA backend's code generator without a GPU: the CUDA C of pinned kernels (W1, a row
// softmax, a layer norm, a dropout mask, a backward kernel), and every kernel that a set of CPU
// workloads compiles (random graphs forward and backward, an MLP and a CNN training step with
// SGD, Adam and RMSprop, the W1-W3 kernels) rendered as CUDA C, compiled by NVRTC for sm_80
// (CUBIN) and compute_90 (PTX), and the PTX assembled by ptxas for sm_90 within a register
// budget and without spills. Skips, saying why, where the CUDA toolkit is not installed.
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <future>
#include <regex>
#include <set>
#include <string>
#include <vector>

#include "codegen/cuda/nvrtc.h"
#include "codegen/cuda/render.h"
#include "kiln/kiln.h"
#include "kiln/nn.h"
#include "kiln/optim/optimizer.h"
#include "runtime/kernel_cache.h"
#include "tests/random_graph.h"

namespace kiln {
namespace {

// Registers per thread a kernel may use on sm_90 (a 256-thread block then keeps at least 4
// blocks per SM) and the spill stores it may make (none).
constexpr int kRegisterBudget = 128;

constexpr const char* kPtxas = "/usr/local/cuda/bin/ptxas";

// The kernels that `run` compiles (those it finds in the kernel cache are not counted).
std::vector<codegen::Kernel> kernels_compiled_by(const std::function<void()>& run) {
  runtime::set_kernel_cache_capacity(1 << 20);
  std::set<std::string> before;
  for (const codegen::Kernel& k : runtime::cached_kernels()) before.insert(k.name);
  run();
  std::vector<codegen::Kernel> added;
  for (codegen::Kernel& k : runtime::cached_kernels())
    if (!before.count(k.name)) added.push_back(std::move(k));
  return added;
}

// The kernel function of a rendered source (the text after the shared preamble).
std::string kernel_text(const codegen::Kernel& k) {
  std::string code = codegen::cuda::render(k).code;
  return std::regex_replace(code.substr(code.find("extern \"C\"")), std::regex("kiln_[0-9a-f]{16}"), "kiln_<hash>");
}

Tensor input(Shape shape) { return (arange(numel(shape), dtype(kFloat32)).reshape(shape) * 0.01).eval(); }

// The CUDA C of the one kernel `run` compiles.
std::string only_kernel(const std::function<void()>& run) {
  std::vector<codegen::Kernel> k = kernels_compiled_by(run);
  return k.size() == 1 ? kernel_text(k[0]) : std::to_string(k.size()) + " kernels";
}

// Elementwise: one thread per point of a grid-stride loop; the scalars 1.5 and 0.5 are runtime
// scalars (a1, a2), the batch extent a launch argument.
// A concat's first operand is read at the point but is shorter than the output (the scalar path
// guards the read): only the output moves as float4, never a read past an operand's end.
TEST(CudaSource, OperandsShorterThanTheOutputAreNotReadAsVectors) {
  Tensor a = input({4}), b = input({100});
  std::string got = only_kernel([&] { cat({a, b}, 0).eval(); });
  EXPECT_EQ(got.find("float4*>(a0)"), std::string::npos) << got;
  EXPECT_EQ(got.find("float4*>(a1)"), std::string::npos) << got;
  EXPECT_NE(got.find("reinterpret_cast<float4*>(a2)[g] = a2_v;"), std::string::npos) << got;
}

TEST(CudaSource, W1IsAGridStrideLoop) {
  Tensor x = input({64});
  std::string got = only_kernel([&] { (gelu(x * 1.5 + 0.5, "tanh") * sigmoid(x)).eval(); });
  EXPECT_EQ(got, R"(extern "C" __global__ void __launch_bounds__(256, 2) kiln_<hash>(const float* __restrict__ a0, const KilnValues<float, 1> a1_value, const KilnValues<float, 1> a2_value, float* __restrict__ a3, long long kiln_extent)
{
  const float* const a1 = a1_value.v;
  const float* const a2 = a2_value.v;
  const long long kiln_points = kiln_extent;
  const bool kiln_aligned = (((unsigned long long)a0 | (unsigned long long)a3) & 15ULL) == 0;
  if (kiln_aligned) {
    for (long long g = (long long)blockIdx.x * blockDim.x + threadIdx.x; g < kiln_points / 4; g += (long long)gridDim.x * blockDim.x) {
      const float4 a0_v = reinterpret_cast<const float4*>(a0)[g];
      float4 a3_v;
      {
        const long long p = 4 * g + 0;
        const long long i0 = p;
        const float v0 = a0_v.x;
        const float v1 = a1[0LL];
        const float v2 = (v0 * v1);
        const float v3 = a2[0LL];
        const float v4 = (v2 + v3);
        const float v5 = (v4 * v4);
        const float v6 = (v5 * v4);
        const float v7 = 0x1.6e4e26p-5f;
        const float v8 = (v6 * v7);
        const float v9 = (v4 + v8);
        const float v10 = (-0x1.988454p+0f);
        const float v11 = (v9 * v10);
        const float v12 = expf(v11);
        const float v13 = 0x1p+0f;
        const float v14 = (v12 + v13);
        const float v15 = (v4 / v14);
        const float v16 = (-v0);
        const float v17 = expf(v16);
        const float v18 = (v13 + v17);
        const float v19 = (v13 / v18);
        const float v20 = (v15 * v19);
        a3_v.x = v20;
      }
      {
        const long long p = 4 * g + 1;
        const long long i0 = p;
        const float v0 = a0_v.y;
        const float v1 = a1[0LL];
        const float v2 = (v0 * v1);
        const float v3 = a2[0LL];
        const float v4 = (v2 + v3);
        const float v5 = (v4 * v4);
        const float v6 = (v5 * v4);
        const float v7 = 0x1.6e4e26p-5f;
        const float v8 = (v6 * v7);
        const float v9 = (v4 + v8);
        const float v10 = (-0x1.988454p+0f);
        const float v11 = (v9 * v10);
        const float v12 = expf(v11);
        const float v13 = 0x1p+0f;
        const float v14 = (v12 + v13);
        const float v15 = (v4 / v14);
        const float v16 = (-v0);
        const float v17 = expf(v16);
        const float v18 = (v13 + v17);
        const float v19 = (v13 / v18);
        const float v20 = (v15 * v19);
        a3_v.y = v20;
      }
      {
        const long long p = 4 * g + 2;
        const long long i0 = p;
        const float v0 = a0_v.z;
        const float v1 = a1[0LL];
        const float v2 = (v0 * v1);
        const float v3 = a2[0LL];
        const float v4 = (v2 + v3);
        const float v5 = (v4 * v4);
        const float v6 = (v5 * v4);
        const float v7 = 0x1.6e4e26p-5f;
        const float v8 = (v6 * v7);
        const float v9 = (v4 + v8);
        const float v10 = (-0x1.988454p+0f);
        const float v11 = (v9 * v10);
        const float v12 = expf(v11);
        const float v13 = 0x1p+0f;
        const float v14 = (v12 + v13);
        const float v15 = (v4 / v14);
        const float v16 = (-v0);
        const float v17 = expf(v16);
        const float v18 = (v13 + v17);
        const float v19 = (v13 / v18);
        const float v20 = (v15 * v19);
        a3_v.z = v20;
      }
      {
        const long long p = 4 * g + 3;
        const long long i0 = p;
        const float v0 = a0_v.w;
        const float v1 = a1[0LL];
        const float v2 = (v0 * v1);
        const float v3 = a2[0LL];
        const float v4 = (v2 + v3);
        const float v5 = (v4 * v4);
        const float v6 = (v5 * v4);
        const float v7 = 0x1.6e4e26p-5f;
        const float v8 = (v6 * v7);
        const float v9 = (v4 + v8);
        const float v10 = (-0x1.988454p+0f);
        const float v11 = (v9 * v10);
        const float v12 = expf(v11);
        const float v13 = 0x1p+0f;
        const float v14 = (v12 + v13);
        const float v15 = (v4 / v14);
        const float v16 = (-v0);
        const float v17 = expf(v16);
        const float v18 = (v13 + v17);
        const float v19 = (v13 / v18);
        const float v20 = (v15 * v19);
        a3_v.w = v20;
      }
      reinterpret_cast<float4*>(a3)[g] = a3_v;
    }
  }
  for (long long p = (kiln_aligned ? kiln_points / 4 * 4 : 0LL) + (long long)blockIdx.x * blockDim.x + threadIdx.x; p < kiln_points; p += (long long)gridDim.x * blockDim.x) {
    const long long i0 = p;
    const float v0 = a0[i0];
    const float v1 = a1[0LL];
    const float v2 = (v0 * v1);
    const float v3 = a2[0LL];
    const float v4 = (v2 + v3);
    const float v5 = (v4 * v4);
    const float v6 = (v5 * v4);
    const float v7 = 0x1.6e4e26p-5f;
    const float v8 = (v6 * v7);
    const float v9 = (v4 + v8);
    const float v10 = (-0x1.988454p+0f);
    const float v11 = (v9 * v10);
    const float v12 = expf(v11);
    const float v13 = 0x1p+0f;
    const float v14 = (v12 + v13);
    const float v15 = (v4 / v14);
    const float v16 = (-v0);
    const float v17 = expf(v16);
    const float v18 = (v13 + v17);
    const float v19 = (v13 / v18);
    const float v20 = (v15 * v19);
    a3[i0] = v20;
  }
}
)") << got;
}

// A row of 32: one warp per row. Each thread keeps its exps in the output as the sum folds them
// (the reduction's store) and reads its own back in the last loop, as on the CPU.
TEST(CudaSource, RowSoftmaxIsOneBlockPerRow) {
  Tensor x = input({8, 32});
  std::string got = only_kernel([&] { softmax(x, 1).eval(); });
  EXPECT_EQ(got, R"(extern "C" __global__ void __launch_bounds__(32, 2) kiln_<hash>(const float* __restrict__ a0, float* __restrict__ a1, long long kiln_extent)
{
  const long long kiln_points = kiln_extent;
  __shared__ float kiln_partial0[32];
  __shared__ float kiln_partial1[32];
  const long long kiln_inner = 32LL;
  for (long long p = blockIdx.x; p < kiln_points; p += gridDim.x) {
    const long long i0 = p;
    float acc0 = (-KILN_INF_F);
    float acc1 = 0x0p+0f;
    for (long long q = threadIdx.x; q < kiln_inner; q += blockDim.x) {
      const long long i1 = q;
      const long long x3 = i0 * 32LL;
      const long long x4 = x3 + i1;
      const float v0 = a0[x4];
      acc0 = kiln_maximum(acc0, v0);
    }
    for (int o = 16; o > 0; o >>= 1) {
      const float other = kiln_shfl_down(acc0, o);
      if ((threadIdx.x & 31) + o < blockDim.x) {
        acc0 = kiln_maximum(acc0, other);
      }
    }
    if ((threadIdx.x & 31) == 0) {
      kiln_partial0[threadIdx.x / 32] = acc0;
    }
    __syncthreads();
    if (threadIdx.x < 32) {
      const bool has = threadIdx.x < (blockDim.x + 31) / 32;
      acc0 = has ? kiln_partial0[threadIdx.x] : (-KILN_INF_F);
      for (int o = 16; o > 0; o >>= 1) {
        const float other = kiln_shfl_down(acc0, o);
        if ((threadIdx.x & 31) + o < blockDim.x) {
          acc0 = kiln_maximum(acc0, other);
        }
      }
      if (threadIdx.x == 0) {
        kiln_partial0[0] = acc0;
      }
    }
    __syncthreads();
    acc0 = kiln_partial0[0];
    __syncthreads();  // before the next point's threads write the partial results again
    for (long long q = threadIdx.x; q < kiln_inner; q += blockDim.x) {
      const long long i1 = q;
      const long long x3 = i0 * 32LL;
      const long long x4 = x3 + i1;
      const float v0 = a0[x4];
      const float v1 = acc0;
      const float v2 = (v0 - v1);
      const float v3 = expf(v2);
      a1[x4] = v3;
      acc1 = (acc1 + v3);
    }
    for (int o = 16; o > 0; o >>= 1) {
      const float other = kiln_shfl_down(acc1, o);
      if ((threadIdx.x & 31) + o < blockDim.x) {
        acc1 = (acc1 + other);
      }
    }
    if ((threadIdx.x & 31) == 0) {
      kiln_partial1[threadIdx.x / 32] = acc1;
    }
    __syncthreads();
    if (threadIdx.x < 32) {
      const bool has = threadIdx.x < (blockDim.x + 31) / 32;
      acc1 = has ? kiln_partial1[threadIdx.x] : 0x0p+0f;
      for (int o = 16; o > 0; o >>= 1) {
        const float other = kiln_shfl_down(acc1, o);
        if ((threadIdx.x & 31) + o < blockDim.x) {
          acc1 = (acc1 + other);
        }
      }
      if (threadIdx.x == 0) {
        kiln_partial1[0] = acc1;
      }
    }
    __syncthreads();
    acc1 = kiln_partial1[0];
    __syncthreads();  // before the next point's threads write the partial results again
    for (long long q = threadIdx.x; q < kiln_inner; q += blockDim.x) {
      const long long i1 = q;
      const long long x3 = i0 * 32LL;
      const long long x4 = x3 + i1;
      const float v7 = a1[x4];
      const float v5 = 0x1p+0f;
      const float v4 = acc1;
      const float v6 = (v5 / v4);
      const float v8 = (v7 * v6);
      a1[x4] = v8;
    }
  }
}
)") << got;
}

TEST(CudaSource, LayerNormIsOneKernel) {
  Tensor x = input({8, 300}), w = input({300}), b = input({300});
  std::string got = only_kernel([&] {
    Tensor mu = x.mean({1}, true);
    Tensor d = x - mu;
    Tensor var = (d * d).mean({1}, true);
    (d * rsqrt(var + 1e-5) * w + b).eval();
  });
  EXPECT_EQ(got, R"(extern "C" __global__ void __launch_bounds__(256, 2) kiln_<hash>(const float* __restrict__ a0, const KilnValues<float, 1> a1_value, const KilnValues<float, 1> a2_value, const KilnValues<float, 1> a3_value, const float* __restrict__ a4, const float* __restrict__ a5, float* __restrict__ a6, long long kiln_extent)
{
  const float* const a1 = a1_value.v;
  const float* const a2 = a2_value.v;
  const float* const a3 = a3_value.v;
  const long long kiln_points = kiln_extent;
  __shared__ float kiln_partial0[32];
  __shared__ float kiln_partial1[32];
  const long long kiln_inner = 300LL;
  for (long long p = blockIdx.x; p < kiln_points; p += gridDim.x) {
    const long long i0 = p;
    float acc0 = 0x0p+0f;
    float acc1 = 0x0p+0f;
    for (long long q = threadIdx.x; q < kiln_inner; q += blockDim.x) {
      const long long i1 = q;
      const long long x4 = i0 * 300LL;
      const long long x5 = x4 + i1;
      const float v0 = a0[x5];
      acc0 = (acc0 + v0);
    }
    for (int o = 16; o > 0; o >>= 1) {
      const float other = kiln_shfl_down(acc0, o);
      if ((threadIdx.x & 31) + o < blockDim.x) {
        acc0 = (acc0 + other);
      }
    }
    if ((threadIdx.x & 31) == 0) {
      kiln_partial0[threadIdx.x / 32] = acc0;
    }
    __syncthreads();
    if (threadIdx.x < 32) {
      const bool has = threadIdx.x < (blockDim.x + 31) / 32;
      acc0 = has ? kiln_partial0[threadIdx.x] : 0x0p+0f;
      for (int o = 16; o > 0; o >>= 1) {
        const float other = kiln_shfl_down(acc0, o);
        if ((threadIdx.x & 31) + o < blockDim.x) {
          acc0 = (acc0 + other);
        }
      }
      if (threadIdx.x == 0) {
        kiln_partial0[0] = acc0;
      }
    }
    __syncthreads();
    acc0 = kiln_partial0[0];
    __syncthreads();  // before the next point's threads write the partial results again
    for (long long q = threadIdx.x; q < kiln_inner; q += blockDim.x) {
      const long long i1 = q;
      const long long x4 = i0 * 300LL;
      const long long x5 = x4 + i1;
      const float v0 = a0[x5];
      const float v1 = acc0;
      const float v2 = a1[0LL];
      const float v3 = (v1 / v2);
      const float v4 = (v0 - v3);
      const float v5 = (v4 * v4);
      acc1 = (acc1 + v5);
    }
    for (int o = 16; o > 0; o >>= 1) {
      const float other = kiln_shfl_down(acc1, o);
      if ((threadIdx.x & 31) + o < blockDim.x) {
        acc1 = (acc1 + other);
      }
    }
    if ((threadIdx.x & 31) == 0) {
      kiln_partial1[threadIdx.x / 32] = acc1;
    }
    __syncthreads();
    if (threadIdx.x < 32) {
      const bool has = threadIdx.x < (blockDim.x + 31) / 32;
      acc1 = has ? kiln_partial1[threadIdx.x] : 0x0p+0f;
      for (int o = 16; o > 0; o >>= 1) {
        const float other = kiln_shfl_down(acc1, o);
        if ((threadIdx.x & 31) + o < blockDim.x) {
          acc1 = (acc1 + other);
        }
      }
      if (threadIdx.x == 0) {
        kiln_partial1[0] = acc1;
      }
    }
    __syncthreads();
    acc1 = kiln_partial1[0];
    __syncthreads();  // before the next point's threads write the partial results again
    for (long long q = threadIdx.x; q < kiln_inner; q += blockDim.x) {
      const long long i1 = q;
      const long long x4 = i0 * 300LL;
      const long long x5 = x4 + i1;
      const float v0 = a0[x5];
      const float v1 = acc0;
      const float v2 = a1[0LL];
      const float v3 = (v1 / v2);
      const float v4 = (v0 - v3);
      const float v7 = 0x1p+0f;
      const float v6 = acc1;
      const float v8 = a2[0LL];
      const float v9 = (v6 / v8);
      const float v10 = a3[0LL];
      const float v11 = (v9 + v10);
      const float v12 = sqrtf(v11);
      const float v13 = (v7 / v12);
      const float v14 = (v4 * v13);
      const float v15 = a4[i1];
      const float v16 = (v14 * v15);
      const float v17 = a5[i1];
      const float v18 = (v16 + v17);
      a6[x5] = v18;
    }
  }
}
)") << got;
}

// The mask's Philox stream is computed in the kernel from the seed and offset in a2.
TEST(CudaSource, DropoutMaskIsFusedIntoItsProduct) {
  manual_seed(1);
  Tensor x = input({16, 8});
  std::string got = only_kernel([&] { ((x * 2).relu() * bernoulli(x, 0.9) / 0.9).eval(); });
  EXPECT_EQ(got, R"(extern "C" __global__ void __launch_bounds__(256, 2) kiln_<hash>(const float* __restrict__ a0, const KilnValues<float, 1> a1_value, const KilnValues<long long, 2> a2_value, const KilnValues<float, 1> a3_value, const KilnValues<float, 1> a4_value, float* __restrict__ a5, long long kiln_extent)
{
  const float* const a1 = a1_value.v;
  const long long* const a2 = a2_value.v;
  const float* const a3 = a3_value.v;
  const float* const a4 = a4_value.v;
  const long long kiln_points = kiln_extent * 8LL;
  const bool kiln_aligned = (((unsigned long long)a0 | (unsigned long long)a5) & 15ULL) == 0;
  if (kiln_aligned) {
    for (long long g = (long long)blockIdx.x * blockDim.x + threadIdx.x; g < kiln_points / 4; g += (long long)gridDim.x * blockDim.x) {
      const float4 a0_v = reinterpret_cast<const float4*>(a0)[g];
      float4 a5_v;
      {
        const long long p = 4 * g + 0;
        const long long i1 = p % 8LL;
        const long long i1_rest = p / 8LL;
        const long long i0 = i1_rest;
        const float v0 = a0_v.x;
        const float v1 = a1[0LL];
        const float v2 = (v0 * v1);
        const float v3 = 0x0p+0f;
        const bool v4 = (v2 <= v3);
        const float v5 = (v4 ? v3 : v2);
        const long long x4 = i0 * 8LL;
        const long long x5 = x4 + i1;
        const float v6 = kiln_uniform_f(a2, x5);
        const float v7 = a3[0LL];
        const bool v8 = (v6 < v7);
        const float v9 = ((float)v8);
        const float v10 = (v5 * v9);
        const float v11 = a4[0LL];
        const float v12 = (v10 / v11);
        a5_v.x = v12;
      }
      {
        const long long p = 4 * g + 1;
        const long long i1 = p % 8LL;
        const long long i1_rest = p / 8LL;
        const long long i0 = i1_rest;
        const float v0 = a0_v.y;
        const float v1 = a1[0LL];
        const float v2 = (v0 * v1);
        const float v3 = 0x0p+0f;
        const bool v4 = (v2 <= v3);
        const float v5 = (v4 ? v3 : v2);
        const long long x4 = i0 * 8LL;
        const long long x5 = x4 + i1;
        const float v6 = kiln_uniform_f(a2, x5);
        const float v7 = a3[0LL];
        const bool v8 = (v6 < v7);
        const float v9 = ((float)v8);
        const float v10 = (v5 * v9);
        const float v11 = a4[0LL];
        const float v12 = (v10 / v11);
        a5_v.y = v12;
      }
      {
        const long long p = 4 * g + 2;
        const long long i1 = p % 8LL;
        const long long i1_rest = p / 8LL;
        const long long i0 = i1_rest;
        const float v0 = a0_v.z;
        const float v1 = a1[0LL];
        const float v2 = (v0 * v1);
        const float v3 = 0x0p+0f;
        const bool v4 = (v2 <= v3);
        const float v5 = (v4 ? v3 : v2);
        const long long x4 = i0 * 8LL;
        const long long x5 = x4 + i1;
        const float v6 = kiln_uniform_f(a2, x5);
        const float v7 = a3[0LL];
        const bool v8 = (v6 < v7);
        const float v9 = ((float)v8);
        const float v10 = (v5 * v9);
        const float v11 = a4[0LL];
        const float v12 = (v10 / v11);
        a5_v.z = v12;
      }
      {
        const long long p = 4 * g + 3;
        const long long i1 = p % 8LL;
        const long long i1_rest = p / 8LL;
        const long long i0 = i1_rest;
        const float v0 = a0_v.w;
        const float v1 = a1[0LL];
        const float v2 = (v0 * v1);
        const float v3 = 0x0p+0f;
        const bool v4 = (v2 <= v3);
        const float v5 = (v4 ? v3 : v2);
        const long long x4 = i0 * 8LL;
        const long long x5 = x4 + i1;
        const float v6 = kiln_uniform_f(a2, x5);
        const float v7 = a3[0LL];
        const bool v8 = (v6 < v7);
        const float v9 = ((float)v8);
        const float v10 = (v5 * v9);
        const float v11 = a4[0LL];
        const float v12 = (v10 / v11);
        a5_v.w = v12;
      }
      reinterpret_cast<float4*>(a5)[g] = a5_v;
    }
  }
  for (long long p = (kiln_aligned ? kiln_points / 4 * 4 : 0LL) + (long long)blockIdx.x * blockDim.x + threadIdx.x; p < kiln_points; p += (long long)gridDim.x * blockDim.x) {
    const long long i1 = p % 8LL;
    const long long i1_rest = p / 8LL;
    const long long i0 = i1_rest;
    const long long x4 = i0 * 8LL;
    const long long x5 = x4 + i1;
    const float v0 = a0[x5];
    const float v1 = a1[0LL];
    const float v2 = (v0 * v1);
    const float v3 = 0x0p+0f;
    const bool v4 = (v2 <= v3);
    const float v5 = (v4 ? v3 : v2);
    const float v6 = kiln_uniform_f(a2, x5);
    const float v7 = a3[0LL];
    const bool v8 = (v6 < v7);
    const float v9 = ((float)v8);
    const float v10 = (v5 * v9);
    const float v11 = a4[0LL];
    const float v12 = (v10 / v11);
    a5[x5] = v12;
  }
}
)") << got;
}

// A backward kernel: the bias gradient's column sum writes the ReLU-masked gradient (a3) and
// the sum (a4), one block per column.
TEST(CudaSource, BiasGradientSumWritesTheMaskedGradient) {
  Tensor pre = input({64, 16}), g = input({64, 16}), w = input({16, 4});
  std::vector<codegen::Kernel> k = kernels_compiled_by([&] {
    Tensor masked = where(pre > 0, g, zeros_like(g));
    eval({masked.matmul(w), masked.sum({0})});
  });
  ASSERT_EQ(k.size(), 1u);
  std::string got = kernel_text(k[0]);
  EXPECT_EQ(got, R"(extern "C" __global__ void __launch_bounds__(256, 2) kiln_<hash>(const float* __restrict__ a0, const KilnValues<float, 1> a1_value, const float* __restrict__ a2, float* __restrict__ a3, float* __restrict__ a4, long long kiln_extent)
{
  const float* const a1 = a1_value.v;
  const long long kiln_points = 16LL;
  __shared__ float kiln_partial0[32];
  const long long kiln_inner = kiln_extent;
  for (long long p = blockIdx.x; p < kiln_points; p += gridDim.x) {
    const long long i0 = p;
    float acc0 = 0x0p+0f;
    for (long long q = threadIdx.x; q < kiln_inner; q += blockDim.x) {
      const long long i1 = q;
      const long long x4 = i1 * 16LL;
      const long long x5 = x4 + i0;
      const float v0 = a0[x5];
      const float v1 = a1[0LL];
      const bool v2 = (v0 > v1);
      const float v3 = a2[x5];
      const float v4 = 0x0p+0f;
      const float v5 = (v2 ? v3 : v4);
      a3[x5] = v5;
      acc0 = (acc0 + v5);
    }
    for (int o = 16; o > 0; o >>= 1) {
      const float other = kiln_shfl_down(acc0, o);
      if ((threadIdx.x & 31) + o < blockDim.x) {
        acc0 = (acc0 + other);
      }
    }
    if ((threadIdx.x & 31) == 0) {
      kiln_partial0[threadIdx.x / 32] = acc0;
    }
    __syncthreads();
    if (threadIdx.x < 32) {
      const bool has = threadIdx.x < (blockDim.x + 31) / 32;
      acc0 = has ? kiln_partial0[threadIdx.x] : 0x0p+0f;
      for (int o = 16; o > 0; o >>= 1) {
        const float other = kiln_shfl_down(acc0, o);
        if ((threadIdx.x & 31) + o < blockDim.x) {
          acc0 = (acc0 + other);
        }
      }
      if (threadIdx.x == 0) {
        kiln_partial0[0] = acc0;
      }
    }
    __syncthreads();
    acc0 = kiln_partial0[0];
    __syncthreads();  // before the next point's threads write the partial results again
    if (threadIdx.x == 0) {
      const float v6 = acc0;
      a4[i0] = v6;
    }
  }
}
)") << got;
}

struct Ptxas {
  int registers = -1, spill_bytes = -1;
  std::string output;
};

// Assembles `ptx` for sm_90 with ptxas -v and reads its register and spill counts.
Ptxas assemble(const std::string& ptx, const std::string& name) {
  std::string dir = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";
  std::string path = dir + "/" + name + ".ptx";
  std::ofstream(path) << ptx;
  std::string command = std::string(kPtxas) + " -arch=sm_90 -v -o /dev/null " + path + " 2>&1";
  Ptxas result;
  if (FILE* p = popen(command.c_str(), "r")) {
    char buf[512];
    while (fgets(buf, sizeof buf, p)) result.output += buf;
    if (pclose(p) != 0) return result;
  }
  std::smatch m;
  if (std::regex_search(result.output, m, std::regex("Used (\\d+) registers"))) result.registers = std::stoi(m[1]);
  if (std::regex_search(result.output, m, std::regex("(\\d+) bytes spill stores"))) result.spill_bytes = std::stoi(m[1]);
  return result;
}

struct Compiled {
  std::string problem;  // empty when every step passed
  int registers = 0;
};

Compiled compile_everywhere(const codegen::Kernel& k) {
  codegen::cuda::KernelSource src = codegen::cuda::render(k);
  auto fail = [&](const std::string& what, const std::string& log) {
    return Compiled{k.name + ": " + what + "\n" + log + "\n" + codegen::print_kernel(k) + src.code, 0};
  };
  codegen::cuda::NvrtcResult cubin = codegen::cuda::nvrtc_compile(src.code, src.name, 80, /*cubin=*/true);
  if (!cubin.ok || cubin.code.empty()) return fail("NVRTC sm_80", cubin.log);
  codegen::cuda::NvrtcResult ptx = codegen::cuda::nvrtc_compile(src.code, src.name, 90, /*cubin=*/false);
  if (!ptx.ok || ptx.code.empty()) return fail("NVRTC compute_90", ptx.log);
  Ptxas sass = assemble(ptx.code, src.name);
  if (sass.registers < 0) return fail("ptxas sm_90", sass.output);
  if (sass.registers > kRegisterBudget || sass.spill_bytes != 0)
    return fail(std::to_string(sass.registers) + " registers, " + std::to_string(sass.spill_bytes) +
                    " bytes spilled (budget " + std::to_string(kRegisterBudget) + ", no spills)",
                sass.output);
  return {"", sass.registers};
}

// The CPU workloads whose kernels must all compile for the GPU.
void workloads() {
  manual_seed(0);
  for (uint32_t seed = 0; seed < 80; ++seed) {  // random graphs: every dtype, movement, reductions
    testing::RandomGraph graph(seed);
    graph.build().eval();
    FusionGuard unfused(false);
    graph.build().eval();
  }
  for (uint32_t seed = 0; seed < 40; ++seed) {  // and their gradients
    testing::RandomGraph graph(seed, /*differentiable=*/true);
    Tensor x = randn(graph.input_shape(), dtype(kFloat64)).requires_grad_();
    graph.build(x).sum().backward();
    x.grad().eval();
  }
  for (uint32_t seed = 0; seed < 30; ++seed)  // with float16 and bfloat16 leaves
    testing::RandomGraph(seed, false, /*reduced_floats=*/true).build().eval();
  for (ScalarType t : {kFloat16, kBFloat16}) {  // reduced-precision storage, float32 arithmetic
    Tensor h = randn({64, 1000}).to(t);
    (gelu(h * 1.5 + 0.5, "tanh") * sigmoid(h)).eval();
    (h.sum({1}) + h.amax({1})).eval();
    h.argmax(1).eval();
    softmax(h, 1).eval();
    nn::functional::layer_norm(h, nn::functional::LayerNormFuncOptions({1000})).eval();
  }
  Tensor w = randn({64, 1000});
  (gelu(w * 1.5 + 0.5, "tanh") * sigmoid(w)).eval();
  softmax(w, 1).eval();
  nn::functional::layer_norm(w, nn::functional::LayerNormFuncOptions({1000})).eval();
  // Training steps: linear and convolutional layers, dropout, batch norm, pooling, losses, and
  // three optimizers' updates.
  nn::Sequential cnn(nn::Conv2d(nn::Conv2dOptions(1, 4, 3)), nn::BatchNorm2d(4), nn::ReLU(), nn::MaxPool2d(2),
                     nn::Flatten(), nn::Dropout(0.2), nn::Linear(4 * 13 * 13, 10));
  Tensor images = randn({8, 1, 28, 28}), labels = randint(0, 10, {8});
  for (int opt = 0; opt < 3; ++opt) {
    std::unique_ptr<optim::Optimizer> o;
    if (opt == 0) o = std::make_unique<optim::SGD>(cnn->parameters(), optim::SGDOptions(0.01).momentum(0.9));
    if (opt == 1) o = std::make_unique<optim::Adam>(cnn->parameters(), optim::AdamOptions(1e-3));
    if (opt == 2) o = std::make_unique<optim::RMSprop>(cnn->parameters(), optim::RMSpropOptions(1e-3));
    for (int step = 0; step < 2; ++step) {
      o->zero_grad();
      Tensor loss = nn::functional::cross_entropy(cnn->forward(images), labels);
      loss.backward();
      o->step();
      loss.item<double>();
    }
  }
}

TEST(CudaCompile, EveryKernelOfTheWorkloadsCompilesForSm80AndSm90WithinTheRegisterBudget) {
  if (!codegen::cuda::nvrtc_available()) GTEST_SKIP() << codegen::cuda::nvrtc_problem();
  if (!std::ifstream(kPtxas)) GTEST_SKIP() << kPtxas << " not found (the CUDA toolkit's assembler)";
  std::vector<codegen::Kernel> kernels = kernels_compiled_by(workloads);
  ASSERT_GT(kernels.size(), 200u);
  // Two at a time (NVRTC is thread-safe; ptxas runs as a process of its own).
  std::vector<Compiled> results(kernels.size());
  auto worker = [&](size_t first) {
    for (size_t i = first; i < kernels.size(); i += 2) results[i] = compile_everywhere(kernels[i]);
  };
  auto other = std::async(std::launch::async, worker, 1);
  worker(0);
  other.get();
  int most = 0, failures = 0;
  for (const Compiled& c : results) {
    most = std::max(most, c.registers);
    if (!c.problem.empty() && ++failures <= 3) ADD_FAILURE() << c.problem;
  }
  EXPECT_EQ(failures, 0) << "of " << kernels.size() << " kernels";
  std::printf("%zu kernels compiled with NVRTC %s; at most %d registers on sm_90\n", kernels.size(),
              codegen::cuda::nvrtc_version().c_str(), most);
}

}  // namespace
}  // namespace kiln
