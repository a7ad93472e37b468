// Conv2d and the 2-D pools against naive loops in double (an independent oracle), float64
// gradcheck through the autograd transform, module defaults and the errors a user meets.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <sstream>
#include <vector>

#include "kiln/kiln.h"
#include "kiln/nn/conv.h"
#include "kiln/nn/pooling.h"
#include "tests/testing.h"

namespace kiln {
namespace {

namespace F = nn::functional;
using testing::expect_near;
using testing::values;

struct Geometry {
  int64_t stride = 1, padding = 0, dilation = 1, groups = 1;
};

int64_t out_size(int64_t in, int64_t k, const Geometry& g) {
  return (in + 2 * g.padding - g.dilation * (k - 1) - 1) / g.stride + 1;
}

// Direct convolution: out[n, o, y, x] = b[o] + sum over c in o's group, i, j of
// in[n, c, y*s - p + i*d, x*s - p + j*d] * w[o, c', i, j].
std::vector<double> naive_conv(const std::vector<double>& in, Shape is, const std::vector<double>& w, Shape ws,
                               const std::vector<double>& b, const Geometry& g) {
  int64_t N = is[0], C = is[1], H = is[2], W = is[3], O = ws[0], Cg = ws[1], KH = ws[2], KW = ws[3];
  int64_t OH = out_size(H, KH, g), OW = out_size(W, KW, g), Og = O / g.groups;
  std::vector<double> out;
  for (int64_t n = 0; n < N; ++n)
    for (int64_t o = 0; o < O; ++o)
      for (int64_t y = 0; y < OH; ++y)
        for (int64_t x = 0; x < OW; ++x) {
          double acc = b.empty() ? 0 : b[o];
          for (int64_t c = 0; c < Cg; ++c)
            for (int64_t i = 0; i < KH; ++i)
              for (int64_t j = 0; j < KW; ++j) {
                int64_t r = y * g.stride - g.padding + i * g.dilation, s = x * g.stride - g.padding + j * g.dilation;
                if (r < 0 || r >= H || s < 0 || s >= W) continue;
                int64_t ci = (o / Og) * Cg + c;
                acc += in[((n * C + ci) * H + r) * W + s] * w[((o * Cg + c) * KH + i) * KW + j];
              }
          out.push_back(acc);
        }
  return out;
}

TEST(Conv2d, HandComputedCase) {
  // 1..9 in a 3x3 image, the kernel [[1, 0], [0, -1]]: every output is x[r][s] - x[r+1][s+1] = -4.
  Tensor x = arange(1, 10, dtype(kFloat32)).reshape({1, 1, 3, 3});
  Tensor w = tensor({1.f, 0.f, 0.f, -1.f}).reshape({1, 1, 2, 2});
  Tensor y = F::conv2d(x, w, F::Conv2dFuncOptions().bias(tensor({0.5f})));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{1, 1, 2, 2}));
  expect_near(values(y), {-3.5, -3.5, -3.5, -3.5}, 0);
  // Padding 1, stride 2: windows at (-1,-1), (-1,1), (1,-1), (1,1); each sees x at its
  // top-left + 0 and bottom-right + 1 where those are inside: -x[0][0], -x[0][2], -x[2][0], x[1][1]-x[2][2].
  Tensor z = F::conv2d(x, w, F::Conv2dFuncOptions().stride(2).padding(1));
  expect_near(values(z), {-1, -3, -7, 5 - 9}, 0);
}

TEST(Conv2d, MatchesDirectLoopsOverGeometries) {
  manual_seed(3);
  for (Geometry g : {Geometry{}, Geometry{2, 1, 1, 1}, Geometry{1, 2, 2, 1}, Geometry{2, 1, 1, 2}, Geometry{3, 0, 2, 4}}) {
    Shape is{2, 4, 9, 8}, ws{6 - (g.groups == 4 ? 2 : 0) * 1, 4 / g.groups, 3, 2};
    if (g.groups == 4) ws[0] = 8;
    Tensor x = randn(is, dtype(kFloat64)), w = randn(ws, dtype(kFloat64)), b = randn({ws[0]}, dtype(kFloat64));
    Tensor y = F::conv2d(x, w,
                         F::Conv2dFuncOptions().bias(b).stride(g.stride).padding(g.padding).dilation(g.dilation).groups(
                             g.groups));
    EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, ws[0], out_size(9, 3, g), out_size(8, 2, g)}));
    expect_near(values(y), naive_conv(values(x), is, values(w), ws, values(b), g), 1e-12);
    // float32 as well (the LLVM kernels' own path), against the same loops.
    Tensor y32 = F::conv2d(x.to(kFloat32), w.to(kFloat32),
                           F::Conv2dFuncOptions().bias(b.to(kFloat32)).stride(g.stride).padding(g.padding).dilation(
                               g.dilation).groups(g.groups));
    expect_near(values(y32), values(y), 1e-5);
  }
}

TEST(Conv2d, GradcheckThroughTheTransform) {
  manual_seed(4);
  Tensor x = testing::random_leaf({2, 4, 6, 5}), w = testing::random_leaf({4, 2, 3, 2}), b = testing::random_leaf({4});
  EXPECT_TRUE(autograd::gradcheck(
      [](const autograd::tensor_list& in) {
        return autograd::tensor_list{F::conv2d(in[0], in[1], F::Conv2dFuncOptions().bias(in[2]).stride({2, 1}).padding(1).dilation({1, 2}).groups(2))};
      },
      {x, w, b}));
}

TEST(Conv2d, ModuleInitializationShapesAndPrinting) {
  manual_seed(7);
  nn::Conv2d conv(nn::Conv2dOptions(3, 8, 5).stride(2).padding(2).bias(true));
  EXPECT_EQ(conv->weight.sizes(), (std::vector<int64_t>{8, 3, 5, 5}));
  EXPECT_EQ(conv->bias.sizes(), (std::vector<int64_t>{8}));
  // Kaiming-uniform with a = sqrt(5): bound 1 / sqrt(fan_in) = 1 / sqrt(75), for weight and bias.
  double bound = 1 / std::sqrt(75.0);
  std::vector<double> wv = values(conv->weight);
  EXPECT_LE(*std::max_element(wv.begin(), wv.end()), bound);
  EXPECT_GE(*std::min_element(wv.begin(), wv.end()), -bound);
  EXPECT_GT(*std::max_element(wv.begin(), wv.end()), 0.9 * bound);  // it does spread over the range
  Tensor y = conv(randn({2, 3, 16, 16}));
  EXPECT_EQ(y.sizes(), (std::vector<int64_t>{2, 8, 8, 8}));
  std::ostringstream os;
  os << conv;
  EXPECT_EQ(os.str(), "Conv2d(3, 8, kernel_size=[5, 5], stride=[2, 2], padding=[2, 2])");
  manual_seed(7);
  nn::Conv2d again(nn::Conv2dOptions(3, 8, 5).stride(2).padding(2));
  EXPECT_TRUE(again->weight.equal(conv->weight));  // reproducible under manual_seed
}

TEST(Conv2d, WrongInputShapesNameTheLayerShapesAndLine) {
  nn::Conv2d conv(1, 4, 3);
  int line = __LINE__ + 2;
  try {
    conv(zeros({1, 28, 28}));
    FAIL() << "3-D input accepted";
  } catch (const Error& e) {
    std::string m = e.what();
    EXPECT_NE(m.find("Conv2d"), std::string::npos) << m;
    EXPECT_NE(m.find("[N, 1, H, W]"), std::string::npos) << m;
    EXPECT_NE(m.find("[1, 28, 28]"), std::string::npos) << m;
    EXPECT_NE(m.find("conv_pool_test.cc:" + std::to_string(line)), std::string::npos) << m;
  }
  EXPECT_THROW(conv(zeros({2, 3, 28, 28})), Error);  // 3 channels for a 1-channel layer
  EXPECT_THROW(conv(zeros({2, 1, 2, 2})), Error);    // smaller than the kernel
  EXPECT_THROW(F::conv2d(zeros({1, 4, 5, 5}), zeros({4, 3, 3, 3}), F::Conv2dFuncOptions().groups(2)), Error);
}

// Naive pooling over [N, C, H, W] in double; `max` or average with PyTorch's divisor rules.
std::vector<double> naive_pool(const std::vector<double>& in, Shape is, int64_t k, int64_t s, int64_t p, bool max,
                               bool count_include_pad, bool ceil_mode, int64_t d = 1) {
  int64_t H = is[2], W = is[3];
  auto out_len = [&](int64_t n) {
    int64_t reach = n + 2 * p - d * (k - 1) - 1;
    int64_t o = (ceil_mode ? (reach + s - 1) / s : reach / s) + 1;
    if (ceil_mode && (o - 1) * s >= n + p) --o;
    return o;
  };
  int64_t OH = out_len(H), OW = out_len(W);
  std::vector<double> out;
  for (int64_t nc = 0; nc < is[0] * is[1]; ++nc)
    for (int64_t y = 0; y < OH; ++y)
      for (int64_t x = 0; x < OW; ++x) {
        double acc = max ? -INFINITY : 0;
        int64_t hs = y * s - p, ws = x * s - p;
        int64_t he = std::min(hs + (k - 1) * d + 1, H + p), we = std::min(ws + (k - 1) * d + 1, W + p);
        int64_t count = count_include_pad ? (he - hs) * (we - ws)
                                          : (std::min(he, H) - std::max<int64_t>(hs, 0)) * (std::min(we, W) - std::max<int64_t>(ws, 0));
        for (int64_t i = 0; i < k; ++i)
          for (int64_t j = 0; j < k; ++j) {
            int64_t r = hs + i * d, c = ws + j * d;
            if (r < 0 || r >= H || c < 0 || c >= W) continue;
            double v = in[(nc * H + r) * W + c];
            acc = max ? std::max(acc, v) : acc + v;
          }
        out.push_back(max ? acc : acc / static_cast<double>(count));
      }
  return out;
}

TEST(Pooling, MaxAndAverageMatchDirectLoops) {
  manual_seed(5);
  Shape is{2, 3, 7, 6};
  Tensor x = randn(is, dtype(kFloat64));
  std::vector<double> xv = values(x);
  // kernel, stride, padding, ceil_mode
  for (auto [k, s, p, ceil] : std::vector<std::tuple<int64_t, int64_t, int64_t, bool>>{
           {2, 2, 0, false}, {3, 2, 1, false}, {3, 1, 1, false}, {2, 2, 1, true}, {3, 2, 0, true}}) {
    Tensor mx = F::max_pool2d(x, F::MaxPool2dFuncOptions(k).stride(s).padding(p).ceil_mode(ceil));
    expect_near(values(mx), naive_pool(xv, is, k, s, p, true, true, ceil), 0);
    for (bool include : {true, false}) {
      Tensor av = F::avg_pool2d(x, F::AvgPool2dFuncOptions(k).stride(s).padding(p).ceil_mode(ceil).count_include_pad(include));
      expect_near(values(av), naive_pool(xv, is, k, s, p, false, include, ceil), 1e-12);
    }
  }
  Tensor dil = F::max_pool2d(x, F::MaxPool2dFuncOptions(2).stride(1).dilation(2));
  expect_near(values(dil), naive_pool(xv, is, 2, 1, 0, true, true, false, 2), 0);
  // Hand-computed: the 2x2 maxima of 0..15 in a 4x4 grid are 5, 7, 13, 15; their means 2.5, 4.5, 10.5, 12.5.
  Tensor g = arange(16, dtype(kFloat32)).reshape({1, 4, 4});  // unbatched [C, H, W]
  expect_near(values(nn::MaxPool2d(2)(g)), {5, 7, 13, 15}, 0);
  expect_near(values(nn::AvgPool2d(2)(g)), {2.5, 4.5, 10.5, 12.5}, 0);
  expect_near(values(F::avg_pool2d(g, F::AvgPool2dFuncOptions(2).divisor_override(3))), {10 / 3., 6, 14, 50 / 3.}, 1e-6);
}

TEST(Pooling, AdaptiveAverageBins) {
  // 5 inputs into 3 bins: [0, 2), [1, 4), [3, 5) as PyTorch's floor/ceil rule.
  Tensor x = arange(10, dtype(kFloat64)).reshape({1, 1, 2, 5});
  Tensor y = F::adaptive_avg_pool2d(x, F::AdaptiveAvgPool2dFuncOptions({1, 3}));
  double r0[5] = {0, 1, 2, 3, 4}, r1[5] = {5, 6, 7, 8, 9};
  auto bin = [&](int a, int b) {
    double s = 0;
    for (int j = a; j < b; ++j) s += r0[j] + r1[j];
    return s / (2 * (b - a));
  };
  expect_near(values(y), {bin(0, 2), bin(1, 4), bin(3, 5)}, 1e-12);
  Tensor global = nn::AdaptiveAvgPool2d(1)(x);  // global average: equal bins
  EXPECT_EQ(global.sizes(), (std::vector<int64_t>{1, 1, 1, 1}));
  EXPECT_DOUBLE_EQ(global.item<double>(), 4.5);
}

TEST(Pooling, GradcheckThroughTheTransform) {
  manual_seed(6);
  Tensor x = testing::random_leaf({2, 2, 7, 6});
  auto passes = [&](std::function<Tensor(const Tensor&)> f) {
    return autograd::gradcheck([&](const autograd::tensor_list& in) { return autograd::tensor_list{f(in[0])}; }, {x});
  };
  EXPECT_TRUE(passes([](const Tensor& t) { return F::max_pool2d(t, F::MaxPool2dFuncOptions(3).stride(2).padding(1)); }));
  EXPECT_TRUE(passes([](const Tensor& t) { return F::max_pool2d(t, F::MaxPool2dFuncOptions(2).ceil_mode(true)); }));
  EXPECT_TRUE(passes([](const Tensor& t) {
    return F::avg_pool2d(t, F::AvgPool2dFuncOptions(3).stride(2).padding(1).count_include_pad(false).ceil_mode(true));
  }));
  EXPECT_TRUE(passes([](const Tensor& t) { return F::adaptive_avg_pool2d(t, F::AdaptiveAvgPool2dFuncOptions({3, 4})); }));
}

TEST(Pooling, Errors) {
  EXPECT_THROW(F::max_pool2d(zeros({4, 4}), F::MaxPool2dFuncOptions(2)), Error);
  EXPECT_THROW(F::max_pool2d(zeros({1, 1, 4, 4}), F::MaxPool2dFuncOptions(2).padding(2)), Error);  // > half kernel
  EXPECT_THROW(F::avg_pool2d(zeros({1, 1, 1, 1}), F::AvgPool2dFuncOptions(2)), Error);
}

}  // namespace
}  // namespace kiln
