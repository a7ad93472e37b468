// The blitz port (examples/blitz.cc) runs and prints what PyTorch's tutorials show for every
// value that does not depend on random draws: LibTorch's own output for those lines.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <string>

namespace {

std::string run_blitz() {
  const char* srcdir = std::getenv("TEST_SRCDIR");
  const char* workspace = std::getenv("TEST_WORKSPACE");
  std::string path = std::string(srcdir ? srcdir : ".") + "/" + (workspace ? workspace : "") + "/examples/blitz";
  std::string out;
  FILE* p = popen((path + " 2>&1").c_str(), "r");
  if (!p) return "popen failed";
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  int status = pclose(p);
  if (status != 0) out += "\nexit status " + std::to_string(status);
  return out;
}

TEST(Blitz, PrintsWhatTheTutorialsShow) {
  std::string out = run_blitz();
  for (const char* expected : {
           "Ones Tensor:\n 1  1\n 1  1\n[ CPULongType{2,2} ]",
           "Shape of tensor: [3, 4]",
           " 1  0  1  1\n 1  0  1  1\n 1  0  1  1\n 1  0  1  1\n[ CPUFloatType{4,4} ]",
           "[ CPUFloatType{4,12} ]",
           "12 Float",
           " 6  5  6  6\n",
           "n: [2, 2, 2, 2, 2]",
           "t:  2\n 2\n 2\n 2\n 2\n[ CPUFloatType{5} ]\n== Autograd",
           " 3  3\n 3  3\n[ CPUFloatType{2,2} ]\nAddBackward0",
           " 27  27\n 27  27\n[ CPUFloatType{2,2} ]\nMulBackward0\n27\n[ CPUFloatType{} ]\nMeanBackward0\nfalse\ntrue\nSumBackward0",
           " 4.5000  4.5000\n 4.5000  4.5000\n[ CPUFloatType{2,2} ]",
           "MulBackward0\n  102.4000\n 1024.0000\n    0.1024\n[ CPUFloatType{3} ]\ntrue\ntrue\nfalse\ntrue\nfalse\ntrue",
           "[ CPUFloatType{3,4} ]\n== Custom autograd functions ==",
           " 5.5000\n 5.5000\n[ CPUFloatType{2} ]",
       })
    EXPECT_NE(out.find(expected), std::string::npos) << "expected:\n" << expected << "\nin:\n" << out;
}

}  // namespace
