// PyTorch's "60 minute blitz", the tensor and autograd sections, ported to Kiln as a LibTorch
// user writes them: the Tensors tutorial in C++, then LibTorch's own "Autograd in C++ Frontend"
// tutorial with torch:: changed to kiln::. (Its nn::Linear and MSELoss come with Kiln's model
// layer; until then the two lines are written out.) Values drawn at random differ from
// PyTorch's (another generator); everything else prints what the tutorials show.
#include <iostream>
#include <vector>

#include "kiln/kiln.h"

using namespace kiln::autograd;
using kiln::indexing::Slice;

void tensors() {
  std::cout << "== Tensors ==\n";
  auto x_data = kiln::tensor({{1, 2}, {3, 4}});
  auto x_ones = kiln::ones_like(x_data);
  std::cout << "Ones Tensor:\n" << x_ones << "\n";
  auto x_rand = kiln::rand_like(x_data, kiln::dtype(kiln::kFloat));
  std::cout << "Random Tensor:\n" << x_rand << "\n";

  std::vector<int64_t> shape = {2, 3};
  std::cout << "Zeros Tensor:\n" << kiln::zeros(shape) << "\n";

  auto tensor = kiln::rand({3, 4});
  std::cout << "Shape of tensor: " << tensor.sizes() << "\n";
  std::cout << "Datatype of tensor: " << tensor.dtype() << "\n";
  std::cout << "Device tensor is stored on: " << tensor.device().str() << "\n";
  if (kiln::cuda::is_available()) tensor = tensor.to(kiln::kCUDA);

  tensor = kiln::ones({4, 4});
  std::cout << "First row: " << tensor[0] << "\n";
  std::cout << "First column: " << tensor.index({Slice(), 0}) << "\n";
  std::cout << "Last column: " << tensor.index({"...", -1}) << "\n";
  tensor.index_put_({Slice(), 1}, 0);
  std::cout << tensor << "\n";

  auto t1 = kiln::cat({tensor, tensor, tensor}, 1);
  std::cout << t1 << "\n";

  auto y1 = tensor.matmul(tensor.t());
  auto z1 = tensor * tensor;
  std::cout << y1 << "\n" << z1 << "\n";

  auto agg = tensor.sum();
  float agg_item = agg.item<float>();
  std::cout << agg_item << " " << agg.dtype() << "\n";

  std::cout << tensor << "\n";
  tensor.add_(5);
  std::cout << tensor << "\n";

  // Memory shared with the program: a pointer into a tensor sees its in-place changes, and a
  // tensor over the program's array sees the array's.
  auto t = kiln::ones({5});
  float* n = t.data_ptr<float>();
  t.add_(1);
  std::cout << "t: " << t << "n: [" << n[0] << ", " << n[1] << ", " << n[2] << ", " << n[3] << ", " << n[4] << "]\n";
  std::vector<float> array(5, 1.0f);
  auto from_array = kiln::from_blob(array.data(), {5});
  for (float& v : array) v += 1;
  std::cout << "t: " << from_array << "\n";
}

void basic_autograd() {
  std::cout << "== Autograd ==\n";
  auto x = kiln::ones({2, 2}, kiln::requires_grad());
  std::cout << x << "\n";
  auto y = x + 2;
  std::cout << y << "\n";
  std::cout << y.grad_fn()->name() << "\n";
  auto z = y * y * 3;
  auto out = z.mean();
  std::cout << z << "\n";
  std::cout << z.grad_fn()->name() << "\n";
  std::cout << out << "\n";
  std::cout << out.grad_fn()->name() << "\n";

  auto a = kiln::randn({2, 2});
  a = ((a * 3) / (a - 1));
  std::cout << a.requires_grad() << "\n";
  a.requires_grad_(true);
  std::cout << a.requires_grad() << "\n";
  auto b = (a * a).sum();
  std::cout << b.grad_fn()->name() << "\n";

  out.backward();
  std::cout << x.grad() << "\n";

  x = kiln::randn(3, kiln::requires_grad());
  y = x * 2;
  while (y.norm().item<double>() < 1000) y = y * 2;
  std::cout << y << "\n";
  std::cout << y.grad_fn()->name() << "\n";

  auto v = kiln::tensor({0.1, 1.0, 0.0001}, kiln::kFloat);
  y.backward(v);
  std::cout << x.grad() << "\n";

  std::cout << x.requires_grad() << "\n";
  std::cout << x.pow(2).requires_grad() << "\n";
  {
    kiln::NoGradGuard no_grad;
    std::cout << x.pow(2).requires_grad() << "\n";
  }
  std::cout << x.requires_grad() << "\n";
  y = x.detach();
  std::cout << y.requires_grad() << "\n";
  std::cout << x.eq(y).all().item<bool>() << "\n";
}

void higher_order_gradients() {
  std::cout << "== Higher-order gradients ==\n";
  // torch::nn::Linear(4, 3) and torch::nn::MSELoss, written out.
  auto weight = (kiln::rand({3, 4}) - 0.5).requires_grad_(true);
  auto bias = (kiln::rand({3}) - 0.5).requires_grad_(true);
  auto input = kiln::randn({3, 4}).requires_grad_(true);
  auto output = input.matmul(weight.t()) + bias;
  auto target = kiln::randn({3, 3});
  auto loss = (output - target).pow(2).mean();

  auto grad_output = kiln::ones_like(output);
  auto gradient = kiln::autograd::grad({output}, {input}, /*grad_outputs=*/{grad_output}, /*retain_graph=*/true,
                                       /*create_graph=*/true)[0];
  auto gradient_penalty = kiln::pow((gradient.norm(2, /*dim=*/{1}) - 1), 2).mean();
  auto combined_loss = loss + gradient_penalty;
  combined_loss.backward();
  std::cout << input.grad() << "\n";
}

// Inherit from Function
class LinearFunction : public Function<LinearFunction> {
 public:
  // Note that both forward and backward are static functions

  // bias is an optional argument
  static kiln::Tensor forward(AutogradContext* ctx, kiln::Tensor input, kiln::Tensor weight,
                              kiln::Tensor bias = kiln::Tensor()) {
    ctx->save_for_backward({input, weight, bias});
    auto output = input.mm(weight.t());
    if (bias.defined()) output += bias.unsqueeze(0).expand_as(output);
    return output;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    auto saved = ctx->get_saved_variables();
    auto input = saved[0];
    auto weight = saved[1];
    auto bias = saved[2];

    auto grad_output = grad_outputs[0];
    auto grad_input = grad_output.mm(weight);
    auto grad_weight = grad_output.t().mm(input);
    auto grad_bias = kiln::Tensor();
    if (bias.defined()) grad_bias = grad_output.sum(0);

    return {grad_input, grad_weight, grad_bias};
  }
};

class MulConstant : public Function<MulConstant> {
 public:
  static kiln::Tensor forward(AutogradContext* ctx, kiln::Tensor tensor, double constant) {
    // ctx is a context object that can be used to stash information
    // for backward computation
    ctx->saved_data["constant"] = constant;
    return tensor * constant;
  }

  static tensor_list backward(AutogradContext* ctx, tensor_list grad_outputs) {
    // We return as many input gradients as there were arguments.
    // Gradients of non-tensor arguments to forward must be `kiln::Tensor()`.
    return {grad_outputs[0] * ctx->saved_data["constant"].toDouble(), kiln::Tensor()};
  }
};

void custom_functions() {
  std::cout << "== Custom autograd functions ==\n";
  auto x = kiln::randn({2, 3}).requires_grad_();
  auto weight = kiln::randn({4, 3}).requires_grad_();
  auto y = LinearFunction::apply(x, weight);
  y.sum().backward();
  std::cout << x.grad() << "\n";
  std::cout << weight.grad() << "\n";

  auto x2 = kiln::randn({2}).requires_grad_();
  auto y2 = MulConstant::apply(x2, 5.5);
  y2.sum().backward();
  std::cout << x2.grad() << "\n";
}

int main() {
  kiln::manual_seed(0);
  std::cout << std::boolalpha;
  tensors();
  basic_autograd();
  higher_order_gradients();
  custom_functions();
  return 0;
}
