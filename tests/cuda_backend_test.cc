// The CUDA backend end to end, without a GPU: the backend loads tests/fake_cuda (a driver and
// cuBLAS that emulate one compute-capability-9.0 device in host memory, KILN_CUDA_DRIVER and
// KILN_CUBLAS) instead of libcuda, compiles every kernel with NVRTC to a CUBIN for sm_90 through
// the compile cache, loads it as a module, and launches it on its stream; the fake runs each
// launch by the kernel's CUDA C compiled for the host (tests/cuda_emulation.h) and rejects any
// kernel argument, copy or gemm operand that is not device memory. What this cannot show (the
// SASS running on an SM: races, occupancy, speed) waits for a real device (docs/CUDA.md).
#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "codegen/cuda/nvrtc.h"
#include "codegen/runtime_extent.h"
#include "kiln/cuda.h"
#include "kiln/kiln.h"
#include "kiln/nn.h"
#include "kiln/optim/optimizer.h"
#include "runtime/kernel_cache.h"
#include "tests/child_process.h"
#include "tests/cuda_device_cases.h"
#include "tests/cuda_emulation.h"
#include "tests/testing.h"

namespace kiln {
namespace {

constexpr const char* kFake = "tests/fake_cuda/libfake_cuda.so";

// The fake driver's test hooks.
struct Fake {
  void* handle = nullptr;
  bool (*is_device_pointer)(const void*, size_t) = nullptr;
  void (*counters)(int64_t*) = nullptr;
  void (*set_memory_limit)(size_t) = nullptr;
};
Fake& fake() {
  static Fake f;
  return f;
}

struct FakeCounters {
  int64_t allocations, frees, launches, copies_to_device, copies_to_host, modules_loaded, pinned_allocations;
};
FakeCounters counters() {
  FakeCounters c;
  fake().counters(reinterpret_cast<int64_t*>(&c));
  return c;
}

// Kernels the backend compiled, emulated on the host on first launch (all compiled kernels
// not yet emulated in one g++ run), and the problems the launches showed.
struct Emulation {
  std::mutex mu;
  std::vector<std::unique_ptr<testing::EmulatedKernels>> libraries;
  std::map<std::string, std::pair<codegen::Kernel, testing::EmulatedKernels::Launch>> kernels;
  std::vector<std::string> problems;
};
Emulation& emulation() {
  static Emulation e;
  return e;
}

// Runs kernel `name`; false (the fake's cuLaunchKernel then fails) if it cannot.
bool launch_hook(const char* name, void** params) {
  Emulation& e = emulation();
  std::lock_guard<std::mutex> lock(e.mu);
  if (!e.kernels.count(name)) {
    std::vector<codegen::Kernel> missing;
    std::set<std::string> names;  // the cache holds a kernel once per backend
    for (codegen::Kernel& k : runtime::cached_kernels())
      if (!e.kernels.count(k.name) && names.insert(k.name).second) missing.push_back(std::move(k));
    auto library = std::make_unique<testing::EmulatedKernels>(missing);
    if (!library->ok()) {
      e.problems.push_back("emulating failed: " + library->log());
      return false;
    }
    for (const codegen::Kernel& k : missing) e.kernels[k.name] = {k, library->launcher_of(k.name)};
    e.libraries.push_back(std::move(library));
  }
  auto it = e.kernels.find(name);
  if (it == e.kernels.end()) {
    e.problems.push_back(std::string(name) + " was launched but never compiled");
    return false;
  }
  const codegen::Kernel& k = it->second.first;
  int64_t extent = *static_cast<int64_t*>(params[k.args.size()]);
  for (size_t a = 0; a < k.args.size(); ++a) {
    if (k.args[a].by_value) continue;
    void* p = *static_cast<void**>(params[a]);
    size_t bytes = static_cast<size_t>(codegen::arg_numel(k, static_cast<int>(a), extent)) * element_size(k.args[a].dtype);
    if (bytes > 0 && !fake().is_device_pointer(p, bytes))
      e.problems.push_back(std::string(name) + ": argument a" + std::to_string(a) + " is not device memory");
  }
  it->second.second(params);
  return true;
}

TEST(CudaBackend, TheFakeDeviceIsAvailableAndTheAllocatorCountsItsCalls) {
  EXPECT_TRUE(cuda::is_available());
  EXPECT_EQ(cuda::device_count(), 1);
  int64_t launched = stats().kernels_launched, driver_launches = counters().launches;
  Tensor t = (ones({1000}, device(kGpu)) * 2).eval();
  EXPECT_EQ(t.sum().item<double>(), 2000);
  EXPECT_EQ(counters().allocations, cuda::memory_stats().device_allocations);
  EXPECT_EQ(counters().launches - driver_launches, stats().kernels_launched - launched);  // each to the driver
  EXPECT_EQ(stats().kernels_launched - launched, 2);
  EXPECT_GT(counters().modules_loaded, 0);
}

// Batches copied to the device every step go through pinned staging blocks, reused once their
// copy has passed: no pinned allocation after the first copies of each size.
TEST(CudaBackend, CopiesToTheDeviceReusePinnedBlocks) {
  std::vector<float> batch(3000);
  Tensor first = from_blob(batch.data(), {3000}).to(kGpu);
  int64_t pinned = counters().pinned_allocations, copies = counters().copies_to_device;
  for (int step = 0; step < 20; ++step) {
    batch.assign(3000, static_cast<float>(step));
    Tensor on_gpu = from_blob(batch.data(), {3000}).to(kGpu);
    batch.assign(3000, -1.0f);  // after to() returns, the copy no longer reads it
    EXPECT_EQ(on_gpu.sum().item<double>(), 3000.0 * step);
  }
  EXPECT_EQ(counters().pinned_allocations, pinned);
  EXPECT_EQ(counters().copies_to_device - copies, 20);
}

// This binary run as `cuda_backend_test dump-probe` (dump settings are read once a process):
// a softmax on the device, then exit.
int dump_probe() {
  Tensor x = randn({8, 10}, device(kGpu));
  std::printf("%f\n", softmax(x * 2, 1).sum().item<double>());
  return launch_problems().empty() ? 0 : 1;
}

// KILN_DUMP=cuda,ptx writes each kernel that ran on the GPU as CUDA C and PTX, in the manifest.
TEST(CudaBackend, DumpsWriteEachGpuKernelsCudaCAndPtx) {
  std::string dir = std::string(std::getenv("TEST_TMPDIR")) + "/cuda_dump";
  std::filesystem::create_directories(dir);
  testing::ChildResult r = testing::run_env_probe(
      "dump-probe", {{"KILN_DUMP", "kernels,cuda,ptx"}, {"KILN_DUMP_DIR", dir}}, "cuda_backend_test", true);
  ASSERT_EQ(r.exit_code, 0) << r.out;
  int kernels = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    std::string path = entry.path().string();
    if (!path.ends_with(".kernel.txt")) continue;
    ++kernels;
    std::string base = path.substr(0, path.size() - std::string(".kernel.txt").size());
    std::string name = entry.path().filename().string();
    name = name.substr(0, name.find('.'));
    std::ifstream cu(base + ".cu"), ptx(base + ".ptx");
    std::string cu_text((std::istreambuf_iterator<char>(cu)), {}), ptx_text((std::istreambuf_iterator<char>(ptx)), {});
    EXPECT_NE(cu_text.find("extern \"C\" __global__ void __launch_bounds__"), std::string::npos) << base;
    EXPECT_NE(cu_text.find(name + "("), std::string::npos) << base;
    EXPECT_NE(ptx_text.find(".entry " + name), std::string::npos) << base;
  }
  EXPECT_GE(kernels, 1);
  std::ifstream manifest(dir + "/manifest.jsonl");
  std::string m((std::istreambuf_iterator<char>(manifest)), {});
  EXPECT_NE(m.find("\"cu\":\"kiln_"), std::string::npos) << m;
  EXPECT_NE(m.find("\"ptx\":\"kiln_"), std::string::npos) << m;
}

TEST(CudaBackend, BadUseIsAnErrorAtTheCallThatLeavesTensorsAsTheyWere) {
  using testing::error_of;
  Tensor g = ones({3}, device(kGpu)), c = ones({3});
  int line = __LINE__ + 1;
  std::string e = error_of([&] { g + c; });
  EXPECT_NE(e.find("cuda:0"), std::string::npos) << e;
  EXPECT_NE(e.find("cpu"), std::string::npos) << e;
  EXPECT_NE(e.find(std::string(__FILE__) + ":" + std::to_string(line)), std::string::npos) << e;
  std::vector<float> v(3);
  e = error_of([&] { from_blob(v.data(), {3}, device(kGpu)); });
  EXPECT_NE(e.find("from_blob"), std::string::npos) << e;
  e = error_of([&] { ones({2}, device(Device(kCUDA, 1))); });
  EXPECT_NE(e.find("1 CUDA device"), std::string::npos) << e;
  // Out of device memory: an error naming the size, and the tensors alive keep their values.
  Tensor kept = (g * 3).eval();
  fake().set_memory_limit(size_t{1} << 20);
  cuda::empty_cache();
  e = error_of([&] { (randn({1 << 20}, device(kGpu)) + 1).eval(); });
  fake().set_memory_limit(size_t{1} << 32);
  EXPECT_NE(e.find("CUDA_ERROR_OUT_OF_MEMORY"), std::string::npos) << e;
  EXPECT_NE(e.find("4194304 bytes"), std::string::npos) << e;
  EXPECT_EQ(kept.to_vector<float>(), (std::vector<float>{3, 3, 3}));
}

// The backend compiles every kernel with NVRTC: without the toolkit there is nothing to run.
class NeedsNvrtc : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!codegen::cuda::nvrtc_available()) GTEST_SKIP() << "NVRTC is not available: " << codegen::cuda::nvrtc_problem();
  }
};

}  // namespace

namespace testing {
bool is_device_memory(const void* p, size_t bytes) { return fake().is_device_pointer(p, bytes); }
std::vector<std::string> launch_problems() {
  std::lock_guard<std::mutex> lock(emulation().mu);
  return emulation().problems;
}
}  // namespace testing
}  // namespace kiln

int main(int argc, char** argv) {
  // Before anything asks for the driver: the process's driver is chosen once.
  const char* tmp = std::getenv("TEST_TMPDIR");
  setenv("KILN_CUDA_DRIVER", kiln::kFake, 1);
  setenv("KILN_CUBLAS", kiln::kFake, 1);
  setenv("KILN_CACHE_DIR", (std::string(tmp ? tmp : "/tmp") + "/kiln-cache").c_str(), 1);
  kiln::Fake& f = kiln::fake();
  f.handle = dlopen(kiln::kFake, RTLD_NOW | RTLD_LOCAL);
  if (!f.handle) {
    std::fprintf(stderr, "cannot load %s: %s\n", kiln::kFake, dlerror());
    return 1;
  }
  auto hook = reinterpret_cast<void (*)(bool (*)(const char*, void**))>(dlsym(f.handle, "fake_cuda_set_launch_hook"));
  f.is_device_pointer = reinterpret_cast<bool (*)(const void*, size_t)>(dlsym(f.handle, "fake_cuda_is_device_pointer"));
  f.counters = reinterpret_cast<void (*)(int64_t*)>(dlsym(f.handle, "fake_cuda_counters"));
  f.set_memory_limit = reinterpret_cast<void (*)(size_t)>(dlsym(f.handle, "fake_cuda_set_memory_limit"));
  hook(kiln::launch_hook);
  if (argc > 1 && std::string(argv[1]) == "dump-probe") return kiln::dump_probe();
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new kiln::NeedsNvrtc);
  return RUN_ALL_TESTS();
}
