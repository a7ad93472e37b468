#include "kiln/nn/conv.h"

#include <cmath>

#include "ir/composite.h"
#include "kiln/nn/init.h"
#include "nn/window.h"

namespace kiln::nn {

namespace functional {

Tensor conv2d(const Tensor& input, const Tensor& weight, const Conv2dFuncOptions& o, Loc loc) {
  SourceLoc l = SourceLoc::from(loc);
  check(weight.defined() && weight.dim() == 4, "conv2d", l, [&] {
    return "expected a 4-D weight [out_channels, in_channels / groups, kh, kw], got " +
           (weight.defined() ? shape_str(weight.sizes()) : std::string("undefined"));
  });
  detail::Window2d w{{weight.size(2), weight.size(3)}, o.stride_, o.padding_, o.dilation_};
  detail::check_window(input, w, "conv2d", l);
  int64_t n = input.size(0), c = input.size(1), out = weight.size(0), group_in = weight.size(1), g = o.groups_;
  check(g > 0 && out % g == 0 && c == group_in * g, "conv2d", l, [&] {
    return "input " + shape_str(input.sizes()) + " has " + std::to_string(c) + " channels, weight " +
           shape_str(weight.sizes()) + " with groups=" + std::to_string(g) + " expects " +
           std::to_string(group_in * g) + (out % g ? " (and out_channels divisible by groups)" : "");
  });
  check(!o.bias_.defined() || o.bias_.sizes() == std::vector<int64_t>{out}, "conv2d", l, [&] {
    return "expected bias of shape [" + std::to_string(out) + "], got " + shape_str(o.bias_.sizes());
  });
  ir::CompositeScope composite("conv2d");
  // Under autocast (kiln/autocast.h) the columns, the product and the bias are in its dtype.
  Tensor x = autocast::cast(input, loc), bias = autocast::cast(o.bias_, loc);
  int64_t oh = w.output_size(x.size(2), 0), ow = w.output_size(x.size(3), 1);
  int64_t taps = w.kernel[0] * w.kernel[1];
  // im2col per group, one column per output position: [g, C/g * kh * kw, N * OH * OW]. Columns
  // keep the input's row order (the output position is the fastest axis), so building them
  // and their gradient's col2im read and write whole rows of NCHW images.
  Tensor columns = detail::windows(x, w, 0, loc)
                       .reshape({n, g, group_in, oh, ow, taps}, loc)
                       .permute({1, 2, 5, 0, 3, 4}, loc)
                       .reshape({g, group_in * taps, n * oh * ow}, loc);
  Tensor filters = autocast::cast(weight, loc).reshape({g, out / g, group_in * taps}, loc);
  Tensor y = filters.matmul(columns, loc)  // [g, O/g, N * OH * OW]
                 .reshape({g, out / g, n, oh, ow}, loc)
                 .permute({2, 0, 1, 3, 4}, loc)
                 .reshape({n, out, oh, ow}, loc);
  return bias.defined() ? y.add(bias.reshape({1, out, 1, 1}, loc), 1, loc) : y;
}

}  // namespace functional

Conv2dImpl::Conv2dImpl(const Conv2dOptions& o) : Module("Conv2d"), options(o) {
  check(o.in_channels_ > 0 && o.out_channels_ > 0 && o.groups_ > 0 && o.in_channels_ % o.groups_ == 0 &&
            o.out_channels_ % o.groups_ == 0,
        "Conv2d", {}, [&] {
          return "in_channels (" + std::to_string(o.in_channels_) + ") and out_channels (" +
                 std::to_string(o.out_channels_) + ") must be positive and divisible by groups (" +
                 std::to_string(o.groups_) + ")";
        });
  weight = register_parameter(
      "weight", empty({o.out_channels_, o.in_channels_ / o.groups_, o.kernel_size_[0], o.kernel_size_[1]}));
  if (o.bias_) bias = register_parameter("bias", empty({o.out_channels_}));
  reset_parameters();
}

void Conv2dImpl::reset_parameters() {
  init::kaiming_uniform_(weight, std::sqrt(5.0));
  if (bias.defined()) {
    auto [fan_in, fan_out] = init::calculate_fan_in_and_fan_out(weight);
    double bound = 1 / std::sqrt(static_cast<double>(fan_in));
    init::uniform_(bias, -bound, bound);
  }
}

Tensor Conv2dImpl::forward(const Tensor& input, Loc loc) {
  SourceLoc l = SourceLoc::from(loc);
  check(input.defined() && input.dim() == 4 && input.size(1) == options.in_channels_, "Conv2d", l, [&] {
    return "expected 4-D input [N, " + std::to_string(options.in_channels_) + ", H, W], got " +
           (input.defined() ? shape_str(input.sizes()) : std::string("undefined")) +
           (input.defined() && input.dim() == 3 ? "; for a single image use input.unsqueeze(0)" : "");
  });
  return functional::conv2d(input, weight,
                            functional::Conv2dFuncOptions()
                                .bias(bias)
                                .stride(options.stride_)
                                .padding(options.padding_)
                                .dilation(options.dilation_)
                                .groups(options.groups_),
                            loc);
}

void Conv2dImpl::pretty_print(std::ostream& os) const {
  os << "Conv2d(" << options.in_channels_ << ", " << options.out_channels_
     << ", kernel_size=" << options.kernel_size_.str() << ", stride=" << options.stride_.str();
  if (options.padding_ != ExpandingArray<2>(0)) os << ", padding=" << options.padding_.str();
  if (options.dilation_ != ExpandingArray<2>(1)) os << ", dilation=" << options.dilation_.str();
  if (options.groups_ != 1) os << ", groups=" << options.groups_;
  if (!options.bias_) os << ", bias=false";
  os << ")";
}

}  // namespace kiln::nn
