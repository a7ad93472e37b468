// The persistent compile cache (runtime/compile_cache.h): a second process running the same
// training step compiles nothing, a corrupted or truncated entry is compiled again rather than
// trusted, the cache can be turned off, and it stays within its size bound.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <algorithm>
#include <regex>
#include <string>
#include <vector>

#include "runtime/compile_cache.h"
#include "tests/child_process.h"

namespace {

namespace fs = std::filesystem;
using kiln::testing::run_env_probe;

struct Training {
  long compiled = -1, loaded = -1;
  double first_ms = 0;
  std::string losses, output;
};

Training train(const std::string& cache_dir) {
  Training r;
  r.output = run_env_probe("", {{"KILN_CACHE_DIR", cache_dir}}, "compile_cache_probe", /*with_stderr=*/true).out;
  std::smatch m;
  if (std::regex_search(r.output, m, std::regex("compiled (\\d+) loaded (\\d+) first_step_ms ([0-9.]+) losses (.*)"))) {
    r.compiled = std::stol(m[1]);
    r.loaded = std::stol(m[2]);
    r.first_ms = std::stod(m[3]);
    r.losses = m[4];
  }
  return r;
}

std::string fresh_dir(const std::string& name) {
  std::string dir = std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") + "/" + name;
  fs::remove_all(dir);
  return dir;
}

std::vector<fs::path> entries(const std::string& dir) {
  std::vector<fs::path> files;
  for (const auto& e : fs::directory_iterator(dir + "/cpu")) files.push_back(e.path());
  std::sort(files.begin(), files.end());
  return files;
}

TEST(CompileCache, ASecondProcessCompilesNothing) {
  std::string dir = fresh_dir("second_process");
  Training cold = train(dir);
  ASSERT_GT(cold.compiled, 5) << cold.output;
  EXPECT_EQ(cold.loaded, 0) << cold.output;
  EXPECT_EQ(entries(dir).size(), static_cast<size_t>(cold.compiled));
  Training warm = train(dir);
  EXPECT_EQ(warm.compiled, 0) << warm.output;
  EXPECT_EQ(warm.loaded, cold.compiled) << warm.output;
  EXPECT_EQ(warm.losses, cold.losses);  // the same code: bit for bit the same losses
  std::printf("first step: %.1f ms compiling %ld kernels, %.1f ms loading them\n", cold.first_ms, cold.compiled,
              warm.first_ms);
}

TEST(CompileCache, CorruptedAndTruncatedEntriesAreCompiledAgain) {
  std::string dir = fresh_dir("corrupted");
  Training cold = train(dir);
  std::vector<fs::path> files = entries(dir);
  ASSERT_GE(files.size(), 2u) << cold.output;
  {  // one byte flipped in the middle of the first entry (inside its object code)
    std::fstream f(files[0], std::ios::in | std::ios::out | std::ios::binary);
    f.seekg(static_cast<std::streamoff>(fs::file_size(files[0]) / 2));
    char c = 0;
    f.get(c);
    f.seekp(static_cast<std::streamoff>(fs::file_size(files[0]) / 2));
    f.put(static_cast<char>(c ^ 0x40));
  }
  fs::resize_file(files[1], fs::file_size(files[1]) - 7);  // the second cut short
  Training again = train(dir);
  EXPECT_EQ(again.compiled, 2) << again.output;
  EXPECT_EQ(again.loaded, cold.compiled - 2) << again.output;
  EXPECT_NE(again.output.find("ignoring the compile cache entry"), std::string::npos) << again.output;
  EXPECT_EQ(again.losses, cold.losses);
  Training repaired = train(dir);  // the fresh compiles replaced the bad entries
  EXPECT_EQ(repaired.compiled, 0) << repaired.output;
  EXPECT_EQ(repaired.output.find("ignoring"), std::string::npos) << repaired.output;
}

TEST(CompileCache, OffCompilesEverythingAndWritesNothing) {
  Training off = train("off");
  EXPECT_GT(off.compiled, 5) << off.output;
  EXPECT_EQ(off.loaded, 0);
  EXPECT_FALSE(fs::exists("off"));  // not taken for a relative directory
  setenv("KILN_CACHE_DIR", "off", 1);
  EXPECT_FALSE(kiln::runtime::CompileCache("cpu").enabled());
  unsetenv("KILN_CACHE_DIR");
}

TEST(CompileCache, StaysWithinItsSizeBound) {
  std::string dir = fresh_dir("bounded");
  setenv("KILN_CACHE_DIR", dir.c_str(), 1);
  setenv("KILN_COMPILE_CACHE_MB", "1", 1);
  kiln::runtime::CompileCache cache("test");
  ASSERT_TRUE(cache.enabled());
  std::string code(400 << 10, 'x');
  for (int i = 0; i < 4; ++i) cache.store("key " + std::to_string(i), code);
  uint64_t total = 0;
  for (const auto& e : fs::directory_iterator(cache.directory())) total += e.file_size();
  EXPECT_LE(total, uint64_t{1} << 20);
  EXPECT_EQ(cache.load("key 3"), code);      // the newest stays
  EXPECT_EQ(cache.load("key 0"), std::nullopt);  // the oldest went
  EXPECT_EQ(cache.load("never stored"), std::nullopt);
  unsetenv("KILN_CACHE_DIR");
  unsetenv("KILN_COMPILE_CACHE_MB");
}

}  // namespace
