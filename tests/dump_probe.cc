// A child process for dump_test: KILN_DUMP is read once per process. Evaluates a small fused
// graph (a softmax of a scaled input) and prints the kernel count.
#include <cstdio>

#include "kiln/kiln.h"

int main() {
  auto x = kiln::arange(64, kiln::dtype(kiln::kFloat32)).reshape({4, 16});
  auto y = kiln::softmax(x * 0.25, 1);  // dump_test looks for this line: 9
  y.eval();
  std::printf("%lld\n", static_cast<long long>(kiln::stats().kernels_launched));
  return 0;
}
