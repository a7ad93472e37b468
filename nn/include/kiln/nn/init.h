// kiln::nn::init, as torch::nn::init: fill a parameter in place (under NoGradGuard), drawing from
// Kiln's seeded generator, so a model is reproducible under manual_seed.
#pragma once

#include "kiln/kiln.h"

namespace kiln::nn::init {

enum class FanMode { FanIn, FanOut };
enum class Nonlinearity { Linear, ReLU, LeakyReLU, Tanh, Sigmoid };

// The fan in and fan out of a weight ([out, in, ...kernel]), as PyTorch computes them.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& weight);
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);

Tensor uniform_(Tensor tensor, double low = 0, double high = 1);
Tensor normal_(Tensor tensor, double mean = 0, double std = 1);
Tensor constant_(Tensor tensor, const Scalar& value);
Tensor zeros_(Tensor tensor);
Tensor ones_(Tensor tensor);
// U(-b, b) with b = gain * sqrt(3 / fan), gain for leaky_relu with slope `a`: PyTorch's default
// for Linear and Conv uses a = sqrt(5).
Tensor kaiming_uniform_(Tensor tensor, double a = 0, FanMode mode = FanMode::FanIn,
                        Nonlinearity nonlinearity = Nonlinearity::LeakyReLU);
Tensor kaiming_normal_(Tensor tensor, double a = 0, FanMode mode = FanMode::FanIn,
                       Nonlinearity nonlinearity = Nonlinearity::LeakyReLU);
Tensor xavier_uniform_(Tensor tensor, double gain = 1.0);

}  // namespace kiln::nn::init
