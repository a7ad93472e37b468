// CUDA images through the persistent compile cache (runtime/cuda/kernel_image.h), without a GPU:
// a second process compiles none of an MLP step's kernels again and gets the same bytes, a
// corrupted entry is compiled again rather than trusted, an architecture NVRTC targets gets a
// CUBIN and one it does not gets PTX for an older one. Skips where NVRTC is missing.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <string>
#include <vector>

#include "codegen/cuda/nvrtc.h"
#include "tests/child_process.h"

namespace {

namespace fs = std::filesystem;

struct Images {
  int images = -1, cubins = -1, loaded = -1;
  std::string hash, output;
};

Images compile(const std::string& cache_dir, int arch) {
  Images r;
  r.output = kiln::testing::run_env_probe(std::to_string(arch), {{"KILN_CACHE_DIR", cache_dir}}, "cuda_image_probe",
                                          /*with_stderr=*/true).out;
  std::smatch m;
  if (std::regex_search(r.output, m, std::regex("images (\\d+) cubins (\\d+) loaded (\\d+) hash ([0-9a-f]+)"))) {
    r.images = std::stoi(m[1]);
    r.cubins = std::stoi(m[2]);
    r.loaded = std::stoi(m[3]);
    r.hash = m[4];
  }
  return r;
}

std::string fresh_dir(const std::string& name) {
  std::string dir = std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") + "/" + name;
  fs::remove_all(dir);
  return dir;
}

class CudaImages : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!kiln::codegen::cuda::nvrtc_available()) GTEST_SKIP() << kiln::codegen::cuda::nvrtc_problem();
  }
};

TEST_F(CudaImages, ASecondProcessCompilesNoneAndGetsTheSameImages) {
  std::string dir = fresh_dir("second_process");
  Images cold = compile(dir, 90);
  ASSERT_GT(cold.images, 5) << cold.output;
  EXPECT_EQ(cold.cubins, cold.images) << cold.output;  // sm_90: NVRTC writes CUBINs
  EXPECT_EQ(cold.loaded, 0) << cold.output;
  Images warm = compile(dir, 90);
  EXPECT_EQ(warm.loaded, warm.images) << warm.output;
  EXPECT_EQ(warm.hash, cold.hash);
  // Another architecture is another entry.
  Images other = compile(dir, 80);
  EXPECT_EQ(other.loaded, 0) << other.output;
  EXPECT_NE(other.hash, cold.hash);
}

TEST_F(CudaImages, ACorruptedEntryIsCompiledAgain) {
  std::string dir = fresh_dir("corrupted");
  Images cold = compile(dir, 90);
  ASSERT_GT(cold.images, 0) << cold.output;
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir + "/cuda")) files.push_back(e.path());
  ASSERT_FALSE(files.empty());
  std::sort(files.begin(), files.end());
  {
    std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(static_cast<std::streamoff>(fs::file_size(files[0]) / 2));
    f.put('\x5a');
  }
  Images warm = compile(dir, 90);
  EXPECT_EQ(warm.loaded, warm.images - 1) << warm.output;
  EXPECT_EQ(warm.hash, cold.hash);  // the fresh compile, not the corrupted bytes
  EXPECT_NE(warm.output.find("compile cache"), std::string::npos) << warm.output;  // the log line
}

TEST_F(CudaImages, AnArchitectureWithoutCubinSupportGetsPtx) {
  std::vector<int> archs = kiln::codegen::cuda::nvrtc_architectures();
  ASSERT_FALSE(archs.empty());
  EXPECT_EQ(std::find(archs.begin(), archs.end(), 91), archs.end());
  Images ptx = compile(fresh_dir("ptx"), 91);  // no sm_91: PTX for the newest below (compute_90)
  EXPECT_GT(ptx.images, 0) << ptx.output;
  EXPECT_EQ(ptx.cubins, 0) << ptx.output;
}

}  // namespace
