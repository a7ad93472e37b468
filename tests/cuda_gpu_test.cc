// The CUDA backend's tests (tests/cuda_device_cases.h) on a real GPU, through the machine's own
// driver and cuBLAS. Every test is skipped, with the reason, where there is no device (every
// development machine and CI); tools/gpu_check.sh runs this on a machine that has one.
#include <gtest/gtest.h>

#include <cstdio>

#include "runtime/cuda/device.h"
#include "tests/cuda_device_cases.h"

namespace kiln {
namespace testing {
bool is_device_memory(const void*, size_t) { return true; }  // the driver faults otherwise
std::vector<std::string> launch_problems() { return {}; }
}  // namespace testing

namespace {

class NeedsAGpu : public ::testing::Environment {
 public:
  void SetUp() override {
    if (!cuda::is_available()) GTEST_SKIP() << "no CUDA device: " << runtime::cuda::driver().reason;
    const runtime::cuda::CudaDevice& d = runtime::cuda::cuda_device(0, "cuda_gpu_test");
    std::printf("running on %s (sm_%d, %d multiprocessors)\n", d.name().c_str(), d.compute_capability(),
                d.multiprocessors());
  }
};

}  // namespace
}  // namespace kiln

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  ::testing::AddGlobalTestEnvironment(new kiln::NeedsAGpu);
  return RUN_ALL_TESTS();
}
