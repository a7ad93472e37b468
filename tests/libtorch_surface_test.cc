// LibTorch's C++ surface that ported code leans on, written as LibTorch users write it: the
// vocabulary types (IntArrayRef from a list, a vector or one integer; irange; sizes().vec()),
// torch::tensor's dtypes and nesting, from_blob with strides, Scalar conversions, const in-place
// methods, grad_fn names, detach_/alias/data, default dtype, thread count, custom Functions over
// tensor lists, anomaly detection and views made under NoGradGuard. Expected values are LibTorch
// 1.13's for the same lines.
#include <gtest/gtest.h>

#include <sstream>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using testing::expect_tensor;

TEST(Surface, IntArrayRefAndSizes) {
  Tensor x = randn(3);  // one integer is a size list, as LibTorch's IntArrayRef
  EXPECT_EQ(x.sizes().vec(), (std::vector<int64_t>{3}));
  Tensor m = ones({2, 3});
  EXPECT_EQ(m.sum(1).sizes(), (std::vector<int64_t>{2}));  // sum(1): a plain integer dim
  std::vector<int64_t> shape = {3, 2};
  EXPECT_EQ(m.reshape(shape).size(0), 3);
  std::ostringstream os;
  os << m.sizes();
  EXPECT_EQ(os.str(), "[2, 3]");
  int64_t total = 0;
  for (auto i : irange(m.dim())) total += m.size(i);
  EXPECT_EQ(total, 5);
  EXPECT_EQ(m.ndimension(), 2);
}

TEST(Surface, TensorFactoryDtypesAndNesting) {
  EXPECT_EQ(tensor(123).dtype(), kInt64);
  EXPECT_EQ(tensor(123).dim(), 0);
  EXPECT_EQ(tensor(true).dtype(), kBool);
  EXPECT_EQ(tensor(1.5).dtype(), kFloat32);
  Tensor n = tensor({{1, 2}, {3, 4}});
  EXPECT_EQ(n.dtype(), kInt64);
  expect_tensor<int64_t>(n, {2, 2}, {1, 2, 3, 4});
  expect_tensor<double>(tensor({{{1.5}, {2}}, {{3}, {4}}}), {2, 2, 1}, {1.5, 2, 3, 4});
  expect_tensor<double>(tensor(std::vector<float>{1, 2}, dtype(kFloat64)), {2}, {1, 2});
  std::vector<int> raw = {4, 5};
  expect_tensor<int64_t>(tensor(ArrayRef<int>(raw)), {2}, {4, 5});
  EXPECT_KILN_ERROR(tensor({{1, 2}, {3}}), "tensor", "regular");
  std::ostringstream os;
  os << kFloat << " " << tensor(1).dtype();
  EXPECT_EQ(os.str(), "Float Long");
}

TEST(Surface, FromBlobWithStridesViewsTheUsersMemory) {
  std::vector<float> m = {1, 2, 3, 0, 4, 5, 6, 0};  // 2 rows of 3, row pitch 4
  Tensor rows = from_blob(m.data(), {2, 3}, {4, 1});
  expect_tensor<float>(rows, {2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor cols = from_blob(m.data(), {3, 2}, {1, 4});  // the transpose
  expect_tensor<float>(cols, {3, 2}, {1, 4, 2, 5, 3, 6});
  cols.mul_(10);  // writes the user's memory, padding untouched
  EXPECT_EQ(m, (std::vector<float>{10, 20, 30, 0, 40, 50, 60, 0}));
  expect_tensor<float>(from_blob(m.data(), {2, 2}, {0, 2}), {2, 2}, {10, 30, 10, 30});  // stride 0
  EXPECT_KILN_ERROR(from_blob(m.data(), {2, 3}, {2, 1}), "from_blob", "overlap");
  EXPECT_EQ(from_blob(m.data(), {0, 3}, {4, 1}).sizes(), (Shape{0, 3}));  // no elements
}

TEST(Surface, MethodAndFreeFunctionForms) {
  autograd::Variable v = tensor({1.0, 2.0, 3.0}, dtype(kFloat64));  // a Variable is a Tensor
  EXPECT_TRUE(v.softmax(0).allclose(softmax(v, 0)));
  EXPECT_TRUE(v.log_softmax(0).allclose(log_softmax(v, 0)));
  EXPECT_EQ(argmax(v).item<int64_t>(), 2);
  EXPECT_EQ(std::get<1>(max(v, 0)).item<int64_t>(), 2);
  EXPECT_EQ(add(v, v, 2).sum().item<double>(), 18);
  EXPECT_EQ(sub(v, 1).sum().item<double>(), 3);
  EXPECT_EQ(mul(v, v).sum().item<double>(), 14);
  EXPECT_EQ(div(v, 2).sum().item<double>(), 3);
  EXPECT_EQ(kiln::exp(v).sum().item<double>(), v.exp().sum().item<double>());
  optional<int64_t> none = nullopt;
  EXPECT_FALSE(none.has_value());
}

TEST(Surface, ScalarConversionsAndThreads) {
  Scalar s = tensor(2.5, dtype(kFloat64)).item();
  EXPECT_EQ(s.toDouble(), 2.5);
  EXPECT_EQ(s.toFloat(), 2.5f);
  EXPECT_EQ(s.toLong(), 2);
  EXPECT_TRUE(s.isFloatingPoint());
  int before = get_num_threads();
  set_num_threads(1);
  EXPECT_EQ(get_num_threads(), 1);
  expect_tensor<float>(arange(4, dtype(kFloat32)) * 2, {4}, {0, 2, 4, 6});
  set_num_threads(before);
  EXPECT_KILN_ERROR(set_num_threads(0), "set_num_threads", "positive");
}

TEST(Surface, DefaultDtype) {
  set_default_dtype(kFloat64);
  EXPECT_EQ(zeros({2}).dtype(), kFloat64);
  EXPECT_EQ(tensor({1.5}).dtype(), kFloat64);
  EXPECT_EQ((tensor({1}) * 0.5).dtype(), kFloat64);  // a float scalar lifts to the default dtype
  EXPECT_EQ(arange(0.0, 1.0, 0.5).dtype(), kFloat64);
  set_default_dtype(kFloat32);
  EXPECT_EQ(get_default_dtype(), kFloat32);
  EXPECT_KILN_ERROR(set_default_dtype(kInt64), "set_default_dtype", "floating");
}

void add_one(const Tensor& t) { t.add_(1); }  // LibTorch declares in-place methods const

TEST(Surface, ConstInPlaceDetachAliasData) {
  Tensor t = zeros({2});
  add_one(t);
  expect_tensor<float>(t, {2}, {1, 1});
  Tensor a = t.alias();
  a.mul_(3);  // the same memory
  expect_tensor<float>(t, {2}, {3, 3});
  Tensor w = ones({2}).requires_grad_();
  Tensor y = w * 2;
  y.detach_();
  EXPECT_FALSE(y.requires_grad());
  EXPECT_FALSE(w.data().requires_grad());
  EXPECT_EQ(w.output_nr(), 0);
  EXPECT_FALSE(w.is_cuda());
  EXPECT_TRUE(w.cpu().is_cpu());
}

TEST(Surface, GradFnNamesTheOpAndTheLine) {
  Tensor x = ones({2, 2}, requires_grad());
  EXPECT_EQ(x.grad_fn(), nullptr);  // a leaf
  Tensor y = x + 2;  int y_line = __LINE__;
  Tensor z = y * y * 3;
  Tensor out = z.mean();
  EXPECT_EQ(y.grad_fn()->name(), "AddBackward0");  // LibTorch: AddBackward1 (its scalar overload)
  EXPECT_EQ(y.grad_fn()->loc.line, y_line);
  EXPECT_EQ(z.grad_fn()->name(), "MulBackward0");
  EXPECT_EQ(out.grad_fn()->name(), "MeanBackward0");
  EXPECT_EQ((x * x).sum().grad_fn()->name(), "SumBackward0");
  EXPECT_EQ(log_softmax(x, 1).grad_fn()->name(), "LogSoftmaxBackward0");
}

struct Scale : autograd::Function<Scale> {
  static Tensor forward(autograd::AutogradContext*, const autograd::tensor_list& xs, double factor) {
    return xs[0] * factor + xs[1];
  }
  static autograd::tensor_list backward(autograd::AutogradContext*, autograd::tensor_list g) {
    return {g[0] * 2, g[0], Tensor()};  // one per input: each tensor of the list, then factor
  }
};

TEST(Surface, CustomFunctionTakesTensorLists) {
  Tensor a = ones({2}, requires_grad()), b = ones({2}, requires_grad());
  Tensor y = Scale::apply(autograd::tensor_list{a, b}, 2.0);
  EXPECT_TRUE(y.requires_grad());
  y.sum().backward();
  expect_tensor<float>(a.grad(), {2}, {2, 2});
  expect_tensor<float>(b.grad(), {2}, {1, 1});
  EXPECT_KILN_ERROR(autograd::grad({y.sum()}, {}), "grad", "non-empty inputs");
}

TEST(Surface, ViewsOfRequiresGradTensorsRequireGradUnderNoGrad) {
  Tensor x = ones({2, 2}, requires_grad());
  Tensor v;
  {
    NoGradGuard no_grad;
    v = x.view({4});
    EXPECT_TRUE(v.requires_grad());  // as LibTorch
    EXPECT_FALSE((x * 2).requires_grad());
  }
  v.sum().backward();
  expect_tensor<float>(x.grad(), {2, 2}, {1, 1, 1, 1});
}

TEST(Surface, DetectAnomalyNamesTheForwardOpAndLine) {
  Tensor x = tensor({0.0, 4.0}, dtype(kFloat64).requires_grad(true));
  Tensor r = x.sqrt();  int sqrt_line = __LINE__;
  Tensor loss = (r * 2).sum();
  autograd::DetectAnomalyGuard detect;
  try {
    loss.backward();
    FAIL() << "expected kiln::Error";
  } catch (const Error& e) {
    EXPECT_EQ(e.op(), "sqrt") << e.what();
    EXPECT_EQ(e.loc().line, sqrt_line) << e.what();
  }
}

}  // namespace
}  // namespace kiln
