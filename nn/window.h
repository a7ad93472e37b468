// Sliding 2-D windows over the last two dims of [N, C, H, W]: the index arithmetic conv and
// pooling share. The windows are strided slices of the (padded) input stacked on a new axis, so
// they stay lazy views that fuse into whatever reads them (im2col for a matmul, a max or a sum).
#pragma once

#include "kiln/kiln.h"
#include "kiln/nn/expanding_array.h"

namespace kiln::nn::detail {

struct Window2d {
  ExpandingArray<2> kernel, stride, padding, dilation;
  bool ceil_mode = false;

  // Output positions along spatial axis `axis` (0: height, 1: width) for an input of `in`.
  int64_t output_size(int64_t in, size_t axis) const;
  // The input extent (padding included) the windows span along `axis`.
  int64_t span(int64_t out, size_t axis) const { return (out - 1) * stride[axis] + dilation[axis] * (kernel[axis] - 1) + 1; }
};

// Checks x is [N, C, H, W], the window's numbers are valid and leave an output, naming `op`.
void check_window(const Tensor& x, const Window2d& w, const char* op, SourceLoc loc);

// [N, C, OH, OW, kh * kw]: the window under each output position, element (i, j) of the window
// at i * kw + j; positions in the padding read `pad_value`.
Tensor windows(const Tensor& x, const Window2d& w, const Scalar& pad_value, Loc loc);

}  // namespace kiln::nn::detail
