// The two Fashion-MNIST classifiers, written as a LibTorch user writes them (replace kiln:: by
// torch:: and they compile against LibTorch): an MLP 784-256-128-10 and a small CNN. The
// benchmark in benchmarks/ trains the same models.
#pragma once

#include <string>

#include "kiln/nn.h"

namespace fashion_mnist {

struct MlpImpl : kiln::nn::Module {
  MlpImpl() : kiln::nn::Module("Mlp") {
    fc1 = register_module("fc1", kiln::nn::Linear(784, 256));
    fc2 = register_module("fc2", kiln::nn::Linear(256, 128));
    fc3 = register_module("fc3", kiln::nn::Linear(128, 10));
  }
  kiln::Tensor forward(const kiln::Tensor& x) {
    kiln::Tensor h = fc1(x.flatten(1)).relu();
    return fc3(fc2(h).relu());
  }
  kiln::nn::Linear fc1{nullptr}, fc2{nullptr}, fc3{nullptr};
};
KILN_MODULE(Mlp);

// conv 32 3x3, ReLU, max-pool, conv 64 3x3, ReLU, max-pool, Linear 128, Dropout, Linear 10.
struct CnnImpl : kiln::nn::Module {
  CnnImpl() : kiln::nn::Module("Cnn") {
    conv1 = register_module("conv1", kiln::nn::Conv2d(1, 32, 3));
    conv2 = register_module("conv2", kiln::nn::Conv2d(32, 64, 3));
    fc1 = register_module("fc1", kiln::nn::Linear(64 * 5 * 5, 128));
    dropout = register_module("dropout", kiln::nn::Dropout(0.25));
    fc2 = register_module("fc2", kiln::nn::Linear(128, 10));
  }
  kiln::Tensor forward(const kiln::Tensor& x) {
    namespace F = kiln::nn::functional;
    kiln::Tensor h = F::max_pool2d(conv1(x).relu(), F::MaxPool2dFuncOptions(2));  // [N, 32, 13, 13]
    h = F::max_pool2d(conv2(h).relu(), F::MaxPool2dFuncOptions(2));               // [N, 64, 5, 5]
    return fc2(dropout(fc1(h.flatten(1)).relu()));
  }
  kiln::nn::Conv2d conv1{nullptr}, conv2{nullptr};
  kiln::nn::Linear fc1{nullptr}, fc2{nullptr};
  kiln::nn::Dropout dropout{nullptr};
};
KILN_MODULE(Cnn);

}  // namespace fashion_mnist
