// A child process for dump_test: KILN_DUMP is read once per process. By default evaluates a small
// fused graph (a softmax of a scaled input); with the argument "backward", differentiates one.
// Prints the kernel count.
#include <cstdio>
#include <cstring>

#include "kiln/kiln.h"

int main(int argc, char** argv) {
  if (argc > 1 && std::strcmp(argv[1], "backward") == 0) {
    auto w = kiln::ones({4}, kiln::requires_grad());
    auto loss = (w.tanh() * 3).sum();  // dump_test looks for this line: 12
    loss.backward();
  } else {
    auto x = kiln::arange(64, kiln::dtype(kiln::kFloat32)).reshape({4, 16});
    auto y = kiln::softmax(x * 0.25, 1);  // dump_test looks for this line: 16
    y.eval();
  }
  std::printf("%lld\n", static_cast<long long>(kiln::stats().kernels_launched));
  return 0;
}
