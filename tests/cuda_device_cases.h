// The CUDA backend's tests, shared by two binaries: cuda_backend_test runs them on the fake device
// (tests/fake_cuda: kernels emulated on the host, no GPU needed, in CI) and cuda_gpu_test on a
// real GPU (skipped where there is none). Each binary defines the two hooks below.
#pragma once

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "kiln/cuda.h"
#include "kiln/kiln.h"
#include "kiln/nn.h"
#include "kiln/optim/optimizer.h"
#include "kiln/serialize.h"
#include "tests/random_graph.h"

namespace kiln {
namespace testing {
// Whether [p, p + bytes) is device memory (the fake knows; a real run answers true).
bool is_device_memory(const void* p, size_t bytes);
// What went wrong in launches that did not say so through the driver (the fake's checks).
std::vector<std::string> launch_problems();
}  // namespace testing

namespace {

using testing::is_device_memory;
using testing::launch_problems;

const Device kGpu(kCUDA, 0);

void expect_values(const Tensor& got, const Tensor& want, double tolerance, const std::string& what) {
  ASSERT_EQ(got.sizes(), want.sizes()) << what;
  ASSERT_EQ(got.dtype(), want.dtype()) << what;
  std::vector<double> g = got.to_vector<double>(), w = want.to_vector<double>();
  for (size_t i = 0; i < w.size(); ++i) {
    if (std::isnan(w[i])) ASSERT_TRUE(std::isnan(g[i])) << what << " at " << i;
    else ASSERT_NEAR(g[i], w[i], tolerance * (1 + std::fabs(w[i]))) << what << " at " << i;
  }
}

TEST(CudaDevice, TransfersBothWaysKeepValuesAndDevices) {
  Tensor x = arange(12, dtype(kFloat32)).reshape({3, 4});
  Tensor g = x.to(kGpu);
  EXPECT_EQ(g.device(), kGpu);
  Tensor back = g.cpu();
  EXPECT_TRUE(back.device().is_cpu());
  EXPECT_EQ(back.to_vector<float>(), x.to_vector<float>());
  EXPECT_EQ(g.to_vector<float>(), x.to_vector<float>());  // read from the device: a copy to the host
  EXPECT_EQ(g.sum().item<double>(), 66.0);
  Tensor t = tensor({1.5, -2.0, 4.0}, device(kGpu));  // values from the host, copied over
  EXPECT_EQ(t.device(), kGpu);
  EXPECT_EQ(t.to_vector<float>(), (std::vector<float>{1.5f, -2.0f, 4.0f}));
  // data_ptr of a device tensor is device memory, as in LibTorch.
  EXPECT_TRUE(is_device_memory(t.data_ptr<float>(), 3 * sizeof(float)));
  EXPECT_TRUE(launch_problems().empty()) << launch_problems()[0];
}

TEST(CudaDevice, HostMemoryThatDiesRightAfterToIsCopiedAtTheCall) {
  Tensor g;
  {
    std::vector<float> v = {1, 2, 3, 4};
    g = from_blob(v.data(), {4}).to(kGpu);
    v.assign(4, -1.0f);  // LibTorch's to() has copied already: later writes do not show
  }
  EXPECT_EQ(g.to_vector<float>(), (std::vector<float>{1, 2, 3, 4}));
}

// The differential suite on the device: random graphs of every dtype, float16 and bfloat16 in a
// third of them (leaves drawn on the device, which Philox makes the CPU's values), fused by the
// CPU's plan, against the reference executor.
TEST(CudaDevice, RandomGraphsOnTheDeviceMatchTheReferenceExecutor) {
  int64_t launches = stats().kernels_launched;
  for (uint32_t seed = 1; seed <= 60; ++seed) {
    bool reduced = seed % 3 == 0;  // float16 and bfloat16 leaves too
    Tensor want;
    {
      BackendGuard reference(Backend::Reference);
      want = testing::RandomGraph(seed, false, reduced).build().eval();
    }
    Tensor got = testing::RandomGraph(seed, false, reduced, kGpu).build();
    ASSERT_EQ(got.device(), kGpu) << "seed " << seed;
    // A float32 sum in another order may round a 16-bit result one unit apart.
    double tolerance = !want.is_floating_point() ? 0 : reduced ? 0x1p-7 : 2e-5;
    expect_values(got.cpu(), want, tolerance, "random graph " + std::to_string(seed));
  }
  EXPECT_GT(stats().kernels_launched - launches, 60);
  std::vector<std::string> problems = launch_problems();
  EXPECT_TRUE(problems.empty()) << problems.size() << " problems, first: " << problems[0];
}

TEST(CudaDevice, RuntimeScalarsAndSeedsArePassedByValueAndCompileNothingNew) {
  Tensor x = randn({64, 10}, device(kGpu));
  auto step = [&](double scale, uint64_t seed) {
    manual_seed(seed);
    return ((x * scale).relu() * bernoulli(x, 0.75) / 0.75).sum().item<double>();
  };
  step(0.5, 1);
  int64_t compiled = stats().kernels_compiled;
  double a = step(1.5, 2), b = step(1.5, 2), c = step(2.5, 3);
  EXPECT_EQ(stats().kernels_compiled, compiled);  // a new scalar or seed is a launch argument
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  manual_seed(3);
  Tensor xc = x.cpu();
  double want = ((xc * 2.5).relu() * bernoulli(xc, 0.75) / 0.75).sum().item<double>();
  EXPECT_NEAR(c, want, 1e-4 * std::fabs(want));  // the same dropout mask as on the CPU
}

TEST(CudaDevice, MatmulGoesThroughCublasWithTransposedOperands) {
  Tensor a = randn({2, 5, 7}, dtype(kFloat64)), b = randn({2, 7, 3}, dtype(kFloat64));
  Tensor ga = a.to(kGpu), gb = b.to(kGpu);
  expect_values(ga.matmul(gb).cpu(), a.matmul(b), 1e-12, "batched matmul");
  expect_values(gb.transpose(1, 2).matmul(ga.transpose(1, 2)).cpu(), b.transpose(1, 2).matmul(a.transpose(1, 2)),
                1e-12, "transposed operands");
  Tensor i = randint(-5, 5, {4, 6}), j = randint(-5, 5, {6, 2});  // integers: the host fallback
  expect_values(i.to(kGpu).matmul(j.to(kGpu)).cpu(), i.matmul(j), 0, "int64 matmul");
  EXPECT_TRUE(launch_problems().empty());
}

TEST(CudaDevice, InPlaceOpsAndValuesReadBeforeBackward) {
  Tensor w = randn({4, 3}, device(kGpu)).requires_grad_();
  Tensor x = randn({5, 4}, device(kGpu));
  Tensor h = x.matmul(w).tanh();
  double seen = h.sum().item<double>();  // read before backward, as users print losses
  Tensor loss = (h * h).mean();
  loss.backward();
  ASSERT_TRUE(w.grad().defined());
  EXPECT_EQ(w.grad().device(), kGpu);
  Tensor wc = w.detach().cpu().requires_grad_(), xc = x.cpu();
  Tensor hc = xc.matmul(wc).tanh();
  EXPECT_NEAR(seen, hc.sum().item<double>(), 1e-5);
  (hc * hc).mean().backward();
  expect_values(w.grad().cpu(), wc.grad(), 1e-5, "gradient on the device");
  {
    NoGradGuard no_grad;
    w.sub_(w.grad() * 0.1);  // an optimizer's in-place update of device memory
  }
  expect_values(w.detach().cpu(), wc.detach() - wc.grad() * 0.1, 1e-6, "in-place update");
}

// An MLP trained with Adam on the device as on the CPU: the same losses, and after the first steps
// no compiles, no cuMemAlloc and no growth of the allocator's bytes.
TEST(CudaDevice, TrainingStepsMatchTheCpuAndKeepDeviceMemoryFlat) {
  auto make = [] {
    manual_seed(7);
    return nn::Sequential(nn::Linear(20, 32), nn::ReLU(), nn::Linear(32, 4));
  };
  nn::Sequential cpu_model = make(), gpu_model = make();
  gpu_model->to(kGpu);
  for (const Tensor& p : gpu_model->parameters()) EXPECT_EQ(p.device(), kGpu);
  optim::Adam cpu_opt(cpu_model->parameters(), optim::AdamOptions(1e-2));
  optim::Adam gpu_opt(gpu_model->parameters(), optim::AdamOptions(1e-2));
  manual_seed(8);
  Tensor data = randn({64, 20}).eval(), labels = randint(0, 4, {64}).eval();
  Tensor gpu_data = data.to(kGpu), gpu_labels = labels.to(kGpu);
  cuda::MemoryStats after_two{};
  int64_t compiled_after_two = 0, allocations_after_two = 0;
  for (int step = 0; step < 8; ++step) {
    Tensor xb = data.slice(0, (step % 4) * 16, (step % 4) * 16 + 16), yb = labels.slice(0, (step % 4) * 16, (step % 4) * 16 + 16);
    Tensor gxb = gpu_data.slice(0, (step % 4) * 16, (step % 4) * 16 + 16);
    Tensor gyb = gpu_labels.slice(0, (step % 4) * 16, (step % 4) * 16 + 16);
    cpu_opt.zero_grad();
    Tensor cpu_loss = nn::functional::cross_entropy(cpu_model->forward(xb), yb);
    cpu_loss.backward();
    cpu_opt.step();
    gpu_opt.zero_grad();
    Tensor gpu_loss = nn::functional::cross_entropy(gpu_model->forward(gxb), gyb);
    gpu_loss.backward();
    gpu_opt.step();
    EXPECT_NEAR(gpu_loss.item<double>(), cpu_loss.item<double>(), 1e-4) << "step " << step;
    cuda::MemoryStats now = cuda::memory_stats();
    if (step == 2) {
      after_two = now;
      compiled_after_two = stats().kernels_compiled;
      allocations_after_two = cuda::memory_stats().device_allocations;
    } else if (step > 2) {  // the same point of every step holds the same device memory
      EXPECT_EQ(now.allocated_bytes, after_two.allocated_bytes) << "step " << step;
      EXPECT_EQ(now.device_allocations, after_two.device_allocations) << "step " << step;
      EXPECT_GT(now.cache_hits, after_two.cache_hits);
    }
  }
  EXPECT_EQ(stats().kernels_compiled, compiled_after_two);
  EXPECT_EQ(cuda::memory_stats().device_allocations, allocations_after_two);
  std::vector<Tensor> cpu_params = cpu_model->parameters(), gpu_params = gpu_model->parameters();
  for (size_t i = 0; i < cpu_params.size(); ++i)
    expect_values(gpu_params[i].detach().cpu(), cpu_params[i].detach(), 1e-4, "parameter " + std::to_string(i));
  EXPECT_TRUE(launch_problems().empty());
}

TEST(CudaDevice, EmptyCacheReturnsCachedBlocksToTheDriver) {
  { Tensor big = (randn({1 << 16}, device(kGpu)) * 2).eval(); }
  cuda::MemoryStats before = cuda::memory_stats();
  cuda::empty_cache();
  cuda::MemoryStats after = cuda::memory_stats();
  EXPECT_LT(after.reserved_bytes, before.reserved_bytes);
  EXPECT_EQ(after.reserved_bytes, after.allocated_bytes);
}

// Elementwise kernels move 4 points at a time where every argument is 16-byte aligned: windows of
// a moved tensor starting at any row (rows of 5 floats: most are misaligned) and sizes that leave
// a partial group take the scalar loop for what the vector loop does not cover.
TEST(CudaDevice, MisalignedWindowsAndPartialGroupsGiveTheSameValues) {
  Tensor x = randn({9, 5}), g = x.to(kGpu);
  for (int64_t first = 0; first < 5; ++first) {
    Tensor got = (g.slice(0, first, 9) * 2 + 1).tanh(), want = (x.slice(0, first, 9) * 2 + 1).tanh();
    expect_values(got.cpu(), want, 1e-6, "rows " + std::to_string(first) + " to 9");
  }
  EXPECT_TRUE(launch_problems().empty());
}

// Ops whose output size depends on values (sort, topk, nonzero, masked_select) read the values on
// the host and give their results on the input's device, as LibTorch; gathers by device indices.
TEST(CudaDevice, DataDependentOpsAndIndexingStayOnTheDevice) {
  Tensor x = randn({6, 7}), g = x.to(kGpu);
  auto same = [&](const Tensor& got, const Tensor& want, const std::string& what) {
    EXPECT_EQ(got.device(), kGpu) << what;
    expect_values(got.cpu(), want, 0, what);
  };
  same(std::get<0>(g.sort(1)), std::get<0>(x.sort(1)), "sort values");
  same(std::get<1>(g.sort(1)), std::get<1>(x.sort(1)), "sort positions");
  same(std::get<0>(g.topk(3, 0)), std::get<0>(x.topk(3, 0)), "topk");
  same((g > 0.5).nonzero(), (x > 0.5).nonzero(), "nonzero");
  same(g.masked_select(g > 0), x.masked_select(x > 0), "masked_select");
  Tensor i = tensor({4, 0, 2});
  same(g.index_select(1, i.to(kGpu)), x.index_select(1, i), "index_select");
  same(g.gather(1, std::get<1>(g.sort(1))), x.gather(1, std::get<1>(x.sort(1))), "gather by sorted positions");
}

// Runtime scalars live in host memory on every device (kernels take them by value); where one is
// a tensor itself (a one-element full), its value is copied to the device.
TEST(CudaDevice, ValuesThatSimplifyToARuntimeScalarAreDeviceMemory) {
  Tensor t = full({1}, 2.5, device(kGpu));
  EXPECT_EQ(t.device(), kGpu);
  EXPECT_EQ(t.item<double>(), 2.5);
  EXPECT_TRUE(is_device_memory(t.data_ptr<float>(), sizeof(float)));
  EXPECT_EQ((zeros({1}, device(kGpu)) + 2.5).item<double>(), 2.5);
  Tensor m = full({1, 1}, 2.0, device(kGpu)).matmul(ones({1, 3}, device(kGpu)));
  EXPECT_EQ(m.to_vector<float>(), (std::vector<float>{2, 2, 2}));
  // An empty inner dimension: zeros, as PyTorch (cuBLAS is called with leading dimensions >= 1).
  Tensor e = randn({3, 0}, device(kGpu)).matmul(randn({0, 4}, device(kGpu)));
  EXPECT_EQ(e.to_vector<float>(), std::vector<float>(12, 0.0f));
  EXPECT_TRUE(launch_problems().empty());
}

// A checkpoint of a model and optimizer on the device: saved through the host, loaded back onto
// the device (as LibTorch's load does), and training continues from it as from the original.
TEST(CudaDevice, CheckpointsSaveFromAndLoadOntoTheDevice) {
  auto make = [] {
    manual_seed(3);
    nn::Sequential m(nn::Linear(6, 5), nn::Tanh(), nn::Linear(5, 2));
    m->to(kGpu);
    return m;
  };
  nn::Sequential model = make(), copy = make();
  optim::SGD opt(model->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  Tensor x = randn({8, 6}, device(kGpu)), y = randn({8, 2}, device(kGpu));
  auto step = [&](nn::Sequential& m, optim::SGD& o) {
    o.zero_grad();
    Tensor loss = (m->forward(x) - y).pow(2).mean();
    loss.backward();
    o.step();
    return loss.item<double>();
  };
  step(model, opt);
  std::string dir = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";
  save(*model, dir + "/cuda_model.safetensors");
  save(opt, dir + "/cuda_opt.safetensors");
  optim::SGD copy_opt(copy->parameters(), optim::SGDOptions(0.1).momentum(0.9));
  step(copy, copy_opt);  // gives it momentum state to overwrite
  load(*copy, dir + "/cuda_model.safetensors");
  load(copy_opt, dir + "/cuda_opt.safetensors");
  for (const Tensor& p : copy->parameters()) EXPECT_EQ(p.device(), kGpu);
  EXPECT_DOUBLE_EQ(step(copy, copy_opt), step(model, opt));  // same parameters and momentum
  std::vector<Tensor> a = model->parameters(), b = copy->parameters();
  for (size_t i = 0; i < a.size(); ++i) EXPECT_EQ(a[i].to_vector<float>(), b[i].to_vector<float>());
}

}  // namespace
}  // namespace kiln
