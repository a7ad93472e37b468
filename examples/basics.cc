// The first thing to run: record a small graph, look at its IR, then evaluate it.
#include <iostream>

#include "kiln/kiln.h"

int main() {
  kiln::manual_seed(0);
  auto x = kiln::randn({4, 3});
  auto w = kiln::ones({3, 2}, kiln::dtype(kiln::kFloat64));
  auto y = (x.to(kiln::kFloat64).matmul(w) + 1.0).relu().sum({1});

  std::cout << "Recorded graph (nothing has run yet):\n" << kiln::dump_ir(y) << "\n";
  std::cout << "x =\n" << x << "\n\n";
  std::cout << "y = relu(x @ w + 1).sum(1) =\n" << y << "\n\n";

  auto p = kiln::softmax(kiln::arange(6, kiln::dtype(kiln::kFloat32)).reshape({2, 3}), 1);
  std::cout << "softmax(arange(6).reshape({2, 3}), 1) =\n" << p << "\n\n";

  // Autograd: backward() appends the gradient computation to the recorded graph, which then
  // runs as one fused graph with the forward.
  auto a = kiln::tensor({0.5, -1.0, 2.0}, kiln::requires_grad());
  auto loss = (a * a.exp()).sum();
  loss.backward();
  std::cout << "loss = sum(a * exp(a)) = " << loss.item<float>() << "\n";
  std::cout << "d loss / d a = (1 + a) exp(a) =\n" << a.grad() << "\n";
  return 0;
}
