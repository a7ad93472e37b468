#include "kiln/nn/pooling.h"

#include <algorithm>
#include <limits>
#include <vector>

#include "ir/composite.h"
#include "nn/window.h"

namespace kiln::nn {

namespace functional {

namespace {

// Pools accept [N, C, H, W] or an unbatched [C, H, W], as PyTorch's.
template <typename F>
Tensor on_batch(const Tensor& input, const char* op, Loc loc, F pool) {
  check(input.defined() && (input.dim() == 3 || input.dim() == 4), op, SourceLoc::from(loc), [&] {
    return "expected 3-D [C, H, W] or 4-D [N, C, H, W] input, got " +
           (input.defined() ? shape_str(input.sizes()) : std::string("undefined"));
  });
  if (input.dim() == 4) return pool(input);
  return pool(input.unsqueeze(0, loc)).squeeze(0, loc);
}

void check_half_kernel_padding(const detail::Window2d& w, const char* op, SourceLoc loc) {
  for (size_t a = 0; a < 2; ++a) {
    check(w.padding[a] * 2 <= w.kernel[a], op, loc, [&] {
      return "padding " + w.padding.str() + " should be at most half of kernel_size " + w.kernel.str();
    });
  }
}

// Per output position along one axis, how many input positions an average divides by: the
// window clipped to the padded input, or to the input itself without count_include_pad.
std::vector<int64_t> window_counts(int64_t in, int64_t out, const detail::Window2d& w, size_t axis, bool with_pad) {
  std::vector<int64_t> counts(static_cast<size_t>(out));
  for (int64_t o = 0; o < out; ++o) {
    int64_t start = o * w.stride[axis] - w.padding[axis];
    int64_t end = std::min(start + w.kernel[axis], in + w.padding[axis]);
    counts[static_cast<size_t>(o)] = with_pad ? end - start : std::min(end, in) - std::max<int64_t>(start, 0);
  }
  return counts;
}

}  // namespace

Tensor max_pool2d(const Tensor& input, const MaxPool2dFuncOptions& o, Loc loc) {
  SourceLoc l = SourceLoc::from(loc);
  return on_batch(input, "max_pool2d", loc, [&](const Tensor& x) {
    detail::Window2d w{o.kernel_size_, o.stride_, o.padding_, o.dilation_, o.ceil_mode_};
    detail::check_window(x, w, "max_pool2d", l);
    check_half_kernel_padding(w, "max_pool2d", l);
    ir::CompositeScope composite("max_pool2d");
    return detail::windows(x, w, -std::numeric_limits<double>::infinity(), loc).amax({4}, false, loc);
  });
}

Tensor avg_pool2d(const Tensor& input, const AvgPool2dFuncOptions& o, Loc loc) {
  SourceLoc l = SourceLoc::from(loc);
  return on_batch(input, "avg_pool2d", loc, [&](const Tensor& x) {
    detail::Window2d w{o.kernel_size_, o.stride_, o.padding_, 1, o.ceil_mode_};
    detail::check_window(x, w, "avg_pool2d", l);
    check_half_kernel_padding(w, "avg_pool2d", l);
    check(!o.divisor_override_ || *o.divisor_override_ != 0, "avg_pool2d", l, "divisor must be not zero");
    ir::CompositeScope composite("avg_pool2d");
    Tensor sums = detail::windows(x, w, 0, loc).sum({4}, false, std::nullopt, loc);
    if (o.divisor_override_) return sums.div(*o.divisor_override_, loc);
    int64_t oh = sums.size(2), ow = sums.size(3);
    std::vector<int64_t> rows = window_counts(x.size(2), oh, w, 0, o.count_include_pad_);
    std::vector<int64_t> cols = window_counts(x.size(3), ow, w, 1, o.count_include_pad_);
    bool uniform = std::all_of(rows.begin(), rows.end(), [&](int64_t v) { return v == rows[0]; }) &&
                   std::all_of(cols.begin(), cols.end(), [&](int64_t v) { return v == cols[0]; });
    if (uniform) return sums.div(rows[0] * cols[0], loc);  // a constant compiled into the kernel
    std::vector<double> counts;
    for (int64_t r : rows)
      for (int64_t c : cols) counts.push_back(static_cast<double>(r * c));
    return sums.div(tensor(counts, TensorOptions().dtype(sums.dtype()), loc).reshape({oh, ow}, loc), loc);
  });
}

namespace {
// [out, in]: row i averages input positions [floor(i * in / out), ceil((i + 1) * in / out)).
Tensor adaptive_bins(int64_t in, int64_t out, ScalarType dtype, Loc loc) {
  std::vector<double> m(static_cast<size_t>(out * in), 0.0);
  for (int64_t i = 0; i < out; ++i) {
    int64_t start = i * in / out, end = ((i + 1) * in + out - 1) / out;
    for (int64_t j = start; j < end; ++j) m[static_cast<size_t>(i * in + j)] = 1.0 / static_cast<double>(end - start);
  }
  return tensor(m, TensorOptions().dtype(dtype), loc).reshape({out, in}, loc);
}
}  // namespace

Tensor adaptive_avg_pool2d(const Tensor& input, const AdaptiveAvgPool2dFuncOptions& o, Loc loc) {
  SourceLoc l = SourceLoc::from(loc);
  return on_batch(input, "adaptive_avg_pool2d", loc, [&](const Tensor& x) {
    int64_t h = x.size(2), w = x.size(3), oh = o.output_size_[0], ow = o.output_size_[1];
    check(oh > 0 && ow > 0 && h > 0 && w > 0, "adaptive_avg_pool2d", l, [&] {
      return "expected a positive output_size and a non-empty input, got output_size=" + o.output_size_.str() +
             " for input " + shape_str(x.sizes());
    });
    // Equal bins are a plain average pool; others a product with bin matrices on both sides.
    if (h % oh == 0 && w % ow == 0) return avg_pool2d(x, AvgPool2dFuncOptions({h / oh, w / ow}), loc);
    ir::CompositeScope composite("adaptive_avg_pool2d");
    Tensor across = x.matmul(adaptive_bins(w, ow, x.dtype(), loc).t(loc), loc);  // [N, C, H, OW]
    return adaptive_bins(h, oh, x.dtype(), loc).matmul(across, loc);             // [N, C, OH, OW]
  });
}

}  // namespace functional

void MaxPool2dImpl::pretty_print(std::ostream& os) const {
  os << "MaxPool2d(kernel_size=" << options.kernel_size_.str() << ", stride=" << options.stride_.str()
     << ", padding=" << options.padding_.str() << ", dilation=" << options.dilation_.str()
     << ", ceil_mode=" << (options.ceil_mode_ ? "true" : "false") << ")";
}
void AvgPool2dImpl::pretty_print(std::ostream& os) const {
  os << "AvgPool2d(kernel_size=" << options.kernel_size_.str() << ", stride=" << options.stride_.str()
     << ", padding=" << options.padding_.str() << ")";
}
void AdaptiveAvgPool2dImpl::pretty_print(std::ostream& os) const {
  os << "AdaptiveAvgPool2d(output_size=" << options.output_size_.str() << ")";
}

}  // namespace kiln::nn
