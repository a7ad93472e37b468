// A child process for dump_test: KILN_DUMP is read once per process. Evaluates a small fused graph
// (a softmax of a scaled input; "steps": then another three times, and a backward step), or with
// "backward" differentiates one. Prints the kernel count.
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
  if (argc > 1 && std::strcmp(argv[1], "steps") == 0) {
    // Three steps of one graph (one schedule), then another graph, then a backward.
    for (int step = 0; step < 3; ++step) {
      auto x = kiln::full({4, 16}, step * 0.5);
      kiln::softmax(x * 0.25, 1).eval();
    }
    auto w = kiln::ones({4}, kiln::requires_grad());
    auto loss = (w.exp() * w).sum();
    loss.backward();
  }
  std::printf("%lld\n", static_cast<long long>(kiln::stats().kernels_launched));
  return 0;
}
