// 2-D convolution, as torch::nn::Conv2d and F::conv2d. Expressed in the IR: the input's windows
// (strided slices of the padded input, kiln/nn/window) feed one matmul per group (im2col), and the
// bias and whatever activation follows fuse into the kernel that reads the matmul's output.
#pragma once

#include "kiln/nn/expanding_array.h"
#include "kiln/nn/module.h"

namespace kiln::nn {

struct Conv2dOptions {
  Conv2dOptions(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size)
      : in_channels_(in_channels), out_channels_(out_channels), kernel_size_(kernel_size) {}
  Conv2dOptions& stride(ExpandingArray<2> v) { stride_ = v; return *this; }
  Conv2dOptions& padding(ExpandingArray<2> v) { padding_ = v; return *this; }
  Conv2dOptions& dilation(ExpandingArray<2> v) { dilation_ = v; return *this; }
  Conv2dOptions& groups(int64_t v) { groups_ = v; return *this; }
  Conv2dOptions& bias(bool v) { bias_ = v; return *this; }
  int64_t in_channels_, out_channels_;
  ExpandingArray<2> kernel_size_, stride_ = 1, padding_ = 0, dilation_ = 1;
  int64_t groups_ = 1;
  bool bias_ = true;
};

namespace functional {
struct Conv2dFuncOptions {
  Conv2dFuncOptions& bias(Tensor b) { bias_ = std::move(b); return *this; }
  Conv2dFuncOptions& stride(ExpandingArray<2> v) { stride_ = v; return *this; }
  Conv2dFuncOptions& padding(ExpandingArray<2> v) { padding_ = v; return *this; }
  Conv2dFuncOptions& dilation(ExpandingArray<2> v) { dilation_ = v; return *this; }
  Conv2dFuncOptions& groups(int64_t v) { groups_ = v; return *this; }
  Tensor bias_;
  ExpandingArray<2> stride_ = 1, padding_ = 0, dilation_ = 1;
  int64_t groups_ = 1;
};
// input [N, C, H, W], weight [O, C / groups, kh, kw], bias [O] -> [N, O, OH, OW] (cross-correlation,
// zero padding, as PyTorch's).
Tensor conv2d(const Tensor& input, const Tensor& weight, const Conv2dFuncOptions& options = {},
              Loc loc = Loc::current());
}  // namespace functional

// weight [out, in / groups, kh, kw] and bias [out], Kaiming-uniform as PyTorch's.
class Conv2dImpl : public Module {
 public:
  Conv2dImpl(int64_t in_channels, int64_t out_channels, ExpandingArray<2> kernel_size)
      : Conv2dImpl(Conv2dOptions(in_channels, out_channels, kernel_size)) {}
  explicit Conv2dImpl(const Conv2dOptions& options);
  Tensor forward(const Tensor& input, Loc loc = Loc::current());
  void reset_parameters();
  void pretty_print(std::ostream& os) const override;

  Conv2dOptions options;
  Tensor weight, bias;
};
KILN_MODULE(Conv2d);

}  // namespace kiln::nn
