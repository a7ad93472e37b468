// 2-D pooling, as torch::nn::MaxPool2d, AvgPool2d, AdaptiveAvgPool2d and their F:: forms. Each
// reduces the input's windows (kiln/nn/window), so a pool fuses with the activation before it.
// Gradients come from the reductions': max_pool2d splits a window's gradient among tied maxima
// (PyTorch gives it to the first).
#pragma once

#include <optional>

#include "kiln/nn/expanding_array.h"
#include "kiln/nn/module.h"

namespace kiln::nn {

struct MaxPool2dOptions {
  MaxPool2dOptions(ExpandingArray<2> kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}
  MaxPool2dOptions& stride(ExpandingArray<2> v) { stride_ = v; return *this; }
  MaxPool2dOptions& padding(ExpandingArray<2> v) { padding_ = v; return *this; }
  MaxPool2dOptions& dilation(ExpandingArray<2> v) { dilation_ = v; return *this; }
  MaxPool2dOptions& ceil_mode(bool v) { ceil_mode_ = v; return *this; }
  ExpandingArray<2> kernel_size_, stride_, padding_ = 0, dilation_ = 1;
  bool ceil_mode_ = false;
};

struct AvgPool2dOptions {
  AvgPool2dOptions(ExpandingArray<2> kernel_size) : kernel_size_(kernel_size), stride_(kernel_size) {}
  AvgPool2dOptions& stride(ExpandingArray<2> v) { stride_ = v; return *this; }
  AvgPool2dOptions& padding(ExpandingArray<2> v) { padding_ = v; return *this; }
  AvgPool2dOptions& ceil_mode(bool v) { ceil_mode_ = v; return *this; }
  AvgPool2dOptions& count_include_pad(bool v) { count_include_pad_ = v; return *this; }
  AvgPool2dOptions& divisor_override(std::optional<int64_t> v) { divisor_override_ = v; return *this; }
  ExpandingArray<2> kernel_size_, stride_, padding_ = 0;
  bool ceil_mode_ = false, count_include_pad_ = true;
  std::optional<int64_t> divisor_override_;
};

struct AdaptiveAvgPool2dOptions {
  AdaptiveAvgPool2dOptions(ExpandingArray<2> output_size) : output_size_(output_size) {}
  ExpandingArray<2> output_size_;
};

namespace functional {
using MaxPool2dFuncOptions = MaxPool2dOptions;
using AvgPool2dFuncOptions = AvgPool2dOptions;
using AdaptiveAvgPool2dFuncOptions = AdaptiveAvgPool2dOptions;
// Inputs are [N, C, H, W] or [C, H, W]; padding reads -inf for max and 0 for avg.
Tensor max_pool2d(const Tensor& input, const MaxPool2dFuncOptions& options, Loc loc = Loc::current());
Tensor avg_pool2d(const Tensor& input, const AvgPool2dFuncOptions& options, Loc loc = Loc::current());
// Output bin i covers [floor(i * H / OH), ceil((i + 1) * H / OH)), as PyTorch's.
Tensor adaptive_avg_pool2d(const Tensor& input, const AdaptiveAvgPool2dFuncOptions& options, Loc loc = Loc::current());
}  // namespace functional

#define KILN_POOLING_MODULE(Name, fn)                                                   \
  class Name##Impl : public Module {                                                    \
   public:                                                                              \
    explicit Name##Impl(const Name##Options& options) : Module(#Name), options(options) {} \
    explicit Name##Impl(ExpandingArray<2> size) : Name##Impl(Name##Options(size)) {}   \
    Tensor forward(const Tensor& input, Loc loc = Loc::current()) {                     \
      return functional::fn(input, options, loc);                                       \
    }                                                                                   \
    void pretty_print(std::ostream& os) const override;                                 \
    Name##Options options;                                                              \
  };                                                                                    \
  KILN_MODULE(Name)
KILN_POOLING_MODULE(MaxPool2d, max_pool2d);
KILN_POOLING_MODULE(AvgPool2d, avg_pool2d);
KILN_POOLING_MODULE(AdaptiveAvgPool2d, adaptive_avg_pool2d);
#undef KILN_POOLING_MODULE

}  // namespace kiln::nn
