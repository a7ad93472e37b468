#include "kiln/data/augment.h"

#include <algorithm>

namespace kiln::data::transforms {

namespace detail {

int64_t SharedRandom::uniform_int(int64_t low, int64_t high) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return std::uniform_int_distribution<int64_t>(low, high)(state_->engine);
}

bool SharedRandom::bernoulli(double p) {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return std::bernoulli_distribution(p)(state_->engine);
}

Image read_image(const Tensor& t, const char* op) {
  check(t.defined() && (t.dim() == 2 || t.dim() == 3), op, {}, [&] {
    return "expected an image [C, H, W] or [H, W], got " + (t.defined() ? shape_str(t.sizes()) : std::string("undefined"));
  });
  Image image{t.to(kFloat32).to_vector<float>(), t.dim() == 3 ? t.size(0) : 1, t.size(-2), t.size(-1), t.sizes().vec()};
  return image;
}

Tensor make_tensor(const Image& image, ScalarType dtype) {
  return tensor(image.values).reshape(image.shape).to(dtype).eval();
}

}  // namespace detail

Tensor RandomCrop::operator()(const Tensor& input) {
  detail::Image in = detail::read_image(input, "RandomCrop");
  int64_t ph = in.height + 2 * padding_, pw = in.width + 2 * padding_;
  check(size_ > 0 && padding_ >= 0 && size_ <= ph && size_ <= pw, "RandomCrop", {}, [&] {
    return "crop size " + std::to_string(size_) + " does not fit an image of " + shape_str(input.sizes()) +
           " padded by " + std::to_string(padding_);
  });
  int64_t top = random_.uniform_int(0, ph - size_), left = random_.uniform_int(0, pw - size_);
  detail::Image out{std::vector<float>(static_cast<size_t>(in.channels * size_ * size_), 0.f), in.channels, size_, size_,
                    in.shape};
  out.shape[out.shape.size() - 2] = size_;
  out.shape.back() = size_;
  for (int64_t c = 0; c < in.channels; ++c)
    for (int64_t y = 0; y < size_; ++y)
      for (int64_t x = 0; x < size_; ++x) {
        int64_t sy = top + y - padding_, sx = left + x - padding_;  // the source pixel, or padding
        if (sy >= 0 && sy < in.height && sx >= 0 && sx < in.width)
          out.values[static_cast<size_t>((c * size_ + y) * size_ + x)] =
              in.values[static_cast<size_t>((c * in.height + sy) * in.width + sx)];
      }
  return detail::make_tensor(out, input.dtype());
}

Tensor RandomHorizontalFlip::operator()(const Tensor& input) {
  if (!random_.bernoulli(p_)) return input;
  detail::Image image = detail::read_image(input, "RandomHorizontalFlip");
  for (int64_t row = 0; row < image.channels * image.height; ++row) {
    auto begin = image.values.begin() + row * image.width;
    std::reverse(begin, begin + image.width);
  }
  return detail::make_tensor(image, input.dtype());
}

}  // namespace kiln::data::transforms
