#include "nn/window.h"

namespace kiln::nn::detail {

int64_t Window2d::output_size(int64_t in, size_t axis) const {
  int64_t reach = in + 2 * padding[axis] - dilation[axis] * (kernel[axis] - 1) - 1;
  if (reach < 0) return 0;
  int64_t s = stride[axis];
  int64_t out = (ceil_mode ? (reach + s - 1) / s : reach / s) + 1;
  // As PyTorch: in ceil mode the last window must start inside the input or its left padding.
  if (ceil_mode && (out - 1) * s >= in + padding[axis]) --out;
  return out;
}

void check_window(const Tensor& x, const Window2d& w, const char* op, SourceLoc loc) {
  check(x.defined() && x.dim() == 4, op, loc, [&] {
    return "expected 4-D input [N, C, H, W] (batch, channels, height, width), got " +
           (x.defined() ? shape_str(x.sizes()) : std::string("undefined")) +
           (x.defined() && x.dim() == 3 ? "; for a single image use input.unsqueeze(0)" : "");
  });
  for (size_t a = 0; a < 2; ++a) {
    check(w.kernel[a] > 0 && w.stride[a] > 0 && w.dilation[a] > 0 && w.padding[a] >= 0, op, loc, [&] {
      return "expected positive kernel_size, stride and dilation and non-negative padding, got kernel_size=" +
             w.kernel.str() + ", stride=" + w.stride.str() + ", padding=" + w.padding.str() +
             ", dilation=" + w.dilation.str();
    });
  }
  int64_t oh = w.output_size(x.size(2), 0), ow = w.output_size(x.size(3), 1);
  check(oh > 0 && ow > 0, op, loc, [&] {
    return "input " + shape_str(x.sizes()) + " is too small for kernel_size=" + w.kernel.str() + ", padding=" +
           w.padding.str() + ", dilation=" + w.dilation.str() + " (output " + std::to_string(oh) + "x" +
           std::to_string(ow) + ")";
  });
}

Tensor windows(const Tensor& x, const Window2d& w, const Scalar& pad_value, Loc loc) {
  int64_t n = x.size(0), c = x.size(1), h = x.size(2), wd = x.size(3);
  int64_t oh = w.output_size(h, 0), ow = w.output_size(wd, 1);
  int64_t kh = w.kernel[0], kw = w.kernel[1];
  // Pad (or crop) so that the padded input is exactly the span the windows cover.
  int64_t bottom = w.span(oh, 0) - h - w.padding[0], right = w.span(ow, 1) - wd - w.padding[1];
  Tensor padded = constant_pad_nd(x, {w.padding[1], right, w.padding[0], bottom}, pad_value, loc);
  bool disjoint = w.stride == w.kernel && w.dilation == ExpandingArray<2>(1);
  if (disjoint) {  // windows tile the input: a reshape, no stacking
    return padded.reshape({n, c, oh, kh, ow, kw}, loc).permute({0, 1, 2, 4, 3, 5}, loc).reshape({n, c, oh, ow, kh * kw}, loc);
  }
  TensorList taps;
  for (int64_t i = 0; i < kh; ++i) {
    for (int64_t j = 0; j < kw; ++j) {
      int64_t top = i * w.dilation[0], left = j * w.dilation[1];
      taps.push_back(padded.slice(2, top, top + (oh - 1) * w.stride[0] + 1, w.stride[0], loc)
                         .slice(3, left, left + (ow - 1) * w.stride[1] + 1, w.stride[1], loc));
    }
  }
  return stack(taps, 4, loc);
}

}  // namespace kiln::nn::detail
