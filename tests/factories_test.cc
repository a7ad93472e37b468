// Tensor factories: zeros/ones/full and their *_like forms, arange, rand/randn and the seeded
// generator, from_blob and kiln::tensor. Expected values follow LibTorch's factories.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using testing::expect_tensor;

// Sample mean and (population) standard deviation, accumulated in double.
struct Moments {
  double mean = 0;
  double stddev = 0;
};

Moments moments(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  double mean = sum / static_cast<double>(v.size());
  double sq = 0;
  for (double x : v) sq += (x - mean) * (x - mean);
  return {mean, std::sqrt(sq / static_cast<double>(v.size()))};
}

// ---------------------------------------------------------------------------------------------
// zeros, ones, full

TEST(ZerosOnesTest, DefaultDtypeIsFloat32) {
  Tensor z = zeros({2, 3});
  EXPECT_EQ(z.dtype(), kFloat32);
  expect_tensor<float>(z, {2, 3}, {0, 0, 0, 0, 0, 0});
  Tensor o = ones({3});
  EXPECT_EQ(o.dtype(), kFloat32);
  expect_tensor<float>(o, {3}, {1, 1, 1});
}

TEST(ZerosOnesTest, ExplicitDtype) {
  Tensor z = zeros({2}, dtype(kInt32));
  EXPECT_EQ(z.dtype(), kInt32);
  expect_tensor<int32_t>(z, {2}, {0, 0});
  Tensor o = ones({2, 2}, dtype(kFloat64));
  EXPECT_EQ(o.dtype(), kFloat64);
  expect_tensor<double>(o, {2, 2}, {1, 1, 1, 1});
  Tensor b = ones({2}, kBool);  // a bare ScalarType converts to TensorOptions
  EXPECT_EQ(b.dtype(), kBool);
  EXPECT_EQ(b.to_vector<bool>(), (std::vector<bool>{true, true}));
}

TEST(ZerosOnesTest, ZeroDimAndEmptyShapes) {
  Tensor scalar = ones({});
  EXPECT_EQ(scalar.dim(), 0);
  EXPECT_EQ(scalar.numel(), 1);
  EXPECT_EQ(scalar.item<float>(), 1.0f);
  Tensor empty = zeros({3, 0, 2});
  EXPECT_EQ(empty.sizes(), (Shape{3, 0, 2}));
  EXPECT_EQ(empty.numel(), 0);
  EXPECT_TRUE(empty.to_vector<float>().empty());
}

TEST(FullTest, BoolFillValueGivesBool) {
  Tensor t = full({3}, true);
  EXPECT_EQ(t.dtype(), kBool);
  EXPECT_EQ(t.to_vector<bool>(), (std::vector<bool>{true, true, true}));
}

TEST(FullTest, IntegerFillValueGivesInt64) {
  Tensor t = full({2, 2}, 7);
  EXPECT_EQ(t.dtype(), kInt64);
  expect_tensor<int64_t>(t, {2, 2}, {7, 7, 7, 7});
  EXPECT_EQ(full({1}, int64_t{-3}).dtype(), kInt64);
}

TEST(FullTest, FloatingFillValueGivesFloat32) {
  Tensor t = full({3}, 2.5);
  EXPECT_EQ(t.dtype(), kFloat32);
  expect_tensor<float>(t, {3}, {2.5, 2.5, 2.5});
  EXPECT_EQ(full({1}, 1.5f).dtype(), kFloat32);
}

TEST(FullTest, ExplicitDtypeOverridesFillValue) {
  Tensor d = full({2}, 3, dtype(kFloat64));
  EXPECT_EQ(d.dtype(), kFloat64);
  expect_tensor<double>(d, {2}, {3, 3});
  Tensor i = full({2}, 2.75, dtype(kInt32));  // truncates toward zero, as a C++ cast
  EXPECT_EQ(i.dtype(), kInt32);
  expect_tensor<int32_t>(i, {2}, {2, 2});
  Tensor b = full({2}, 0.5, dtype(kBool));  // nonzero is true
  EXPECT_EQ(b.to_vector<bool>(), (std::vector<bool>{true, true}));
}

// ---------------------------------------------------------------------------------------------
// *_like

TEST(LikeTest, ZerosLikeKeepsShapeAndDtype) {
  Tensor src = full({2, 3}, 5, dtype(kInt32));
  Tensor z = zeros_like(src);
  EXPECT_EQ(z.dtype(), kInt32);
  expect_tensor<int32_t>(z, {2, 3}, {0, 0, 0, 0, 0, 0});
}

TEST(LikeTest, OnesLikeWithDtypeOverride) {
  Tensor src = zeros({2, 2}, dtype(kInt64));
  Tensor o = ones_like(src, dtype(kFloat64));
  EXPECT_EQ(o.dtype(), kFloat64);
  expect_tensor<double>(o, {2, 2}, {1, 1, 1, 1});
}

TEST(LikeTest, FullLikeUsesInputDtypeNotFillValueDtype) {
  Tensor src = zeros({3}, dtype(kInt64));
  Tensor f = full_like(src, 2.9);  // torch::full_like casts the value to the input's dtype
  EXPECT_EQ(f.dtype(), kInt64);
  expect_tensor<int64_t>(f, {3}, {2, 2, 2});
  Tensor g = full_like(zeros({2}, dtype(kFloat64)), 0.25);
  EXPECT_EQ(g.dtype(), kFloat64);
  expect_tensor<double>(g, {2}, {0.25, 0.25});
}

TEST(LikeTest, LikeOfNonContiguousViewHasTheViewShape) {
  Tensor src = zeros({2, 3}).t();
  EXPECT_EQ(ones_like(src).sizes(), (Shape{3, 2}));
  expect_tensor<float>(ones_like(src), {3, 2}, {1, 1, 1, 1, 1, 1});
}

TEST(LikeTest, RandLikeAndRandnLikeKeepShapeAndDtype) {
  Tensor src = zeros({4, 5}, dtype(kFloat64));
  Tensor r = rand_like(src);
  EXPECT_EQ(r.sizes(), (Shape{4, 5}));
  EXPECT_EQ(r.dtype(), kFloat64);
  for (double v : r.to_vector<double>()) {
    EXPECT_GE(v, 0.0);
    EXPECT_LT(v, 1.0);
  }
  Tensor n = randn_like(src, dtype(kFloat32));
  EXPECT_EQ(n.sizes(), (Shape{4, 5}));
  EXPECT_EQ(n.dtype(), kFloat32);
}

// ---------------------------------------------------------------------------------------------
// arange

TEST(ArangeTest, EndOnly) {
  Tensor t = arange(5);
  EXPECT_EQ(t.dtype(), kInt64);
  expect_tensor<int64_t>(t, {5}, {0, 1, 2, 3, 4});
}

TEST(ArangeTest, StartAndEnd) {
  expect_tensor<int64_t>(arange(-2, 3), {5}, {-2, -1, 0, 1, 2});
  expect_tensor<int64_t>(arange(4, 4), {0}, {});
}

TEST(ArangeTest, StartEndStep) {
  expect_tensor<int64_t>(arange(1, 10, 3), {3}, {1, 4, 7});
  expect_tensor<int64_t>(arange(1, 11, 3), {4}, {1, 4, 7, 10});  // the end stays excluded
  expect_tensor<int64_t>(arange(0, 10, 5), {2}, {0, 5});
}

TEST(ArangeTest, NegativeIntegerStep) {
  expect_tensor<int64_t>(arange(10, 0, -3), {4}, {10, 7, 4, 1});
  expect_tensor<int64_t>(arange(5, -1, -2), {3}, {5, 3, 1});
  expect_tensor<int64_t>(arange(3, 0, -1), {3}, {3, 2, 1});
}

TEST(ArangeTest, FloatStepLengthIsCeilOfSpanOverStep) {
  // ceil((1 - 0) / 0.3) = 4
  Tensor t = arange(0.0, 1.0, 0.3);
  EXPECT_EQ(t.dtype(), kFloat32);
  expect_tensor<float>(t, {4}, {0.0, 0.3, 0.6, 0.9});
  // ceil(2.5 / 1) = 3
  expect_tensor<float>(arange(0.5, 3), {3}, {0.5, 1.5, 2.5});
  // ceil(1 / 0.25) = 4, exactly: the end is excluded
  expect_tensor<float>(arange(0, 1, 0.25), {4}, {0, 0.25, 0.5, 0.75});
}

TEST(ArangeTest, NegativeFloatStep) {
  // ceil((0 - 1) / -0.25) = 4
  expect_tensor<float>(arange(1.0, 0.0, -0.25), {4}, {1.0, 0.75, 0.5, 0.25});
  // ceil((-1 - 2) / -0.7) = ceil(4.29) = 5
  expect_tensor<float>(arange(2.0, -1.0, -0.7), {5}, {2.0, 1.3, 0.6, -0.1, -0.8}, 1e-5);
}

TEST(ArangeTest, DtypeInference) {
  EXPECT_EQ(arange(3).dtype(), kInt64);
  EXPECT_EQ(arange(1, 3).dtype(), kInt64);
  EXPECT_EQ(arange(1, 3, 1).dtype(), kInt64);
  EXPECT_EQ(arange(3.0).dtype(), kFloat32);  // any floating bound makes it float32
  EXPECT_EQ(arange(0.0, 3).dtype(), kFloat32);
  EXPECT_EQ(arange(0, 3.0).dtype(), kFloat32);
  EXPECT_EQ(arange(0, 3, 1.0).dtype(), kFloat32);
  expect_tensor<float>(arange(0, 3, 1.0), {3}, {0, 1, 2});
}

TEST(ArangeTest, ExplicitDtype) {
  Tensor d = arange(4, dtype(kFloat64));
  EXPECT_EQ(d.dtype(), kFloat64);
  expect_tensor<double>(d, {4}, {0, 1, 2, 3});
  Tensor i = arange(2, 8, 2, dtype(kInt32));
  EXPECT_EQ(i.dtype(), kInt32);
  expect_tensor<int32_t>(i, {3}, {2, 4, 6});
  Tensor f = arange(0.0, 0.5, 0.125, dtype(kFloat64));
  expect_tensor<double>(f, {4}, {0.0, 0.125, 0.25, 0.375});
}

// ---------------------------------------------------------------------------------------------
// rand, randn and the generator

constexpr int64_t kSamples = 100000;

TEST(RandTest, ShapeAndDefaultDtype) {
  Tensor t = rand({3, 4});
  EXPECT_EQ(t.sizes(), (Shape{3, 4}));
  EXPECT_EQ(t.dtype(), kFloat32);
  Tensor n = randn({2, 1, 5});
  EXPECT_EQ(n.sizes(), (Shape{2, 1, 5}));
  EXPECT_EQ(n.dtype(), kFloat32);
  EXPECT_EQ(rand({0}).numel(), 0);
}

TEST(RandTest, UniformSamplesLieInHalfOpenUnitInterval) {
  manual_seed(7);
  for (double v : rand({kSamples}).to_vector<double>()) {
    ASSERT_GE(v, 0.0);
    ASSERT_LT(v, 1.0);
  }
}

TEST(RandTest, UniformMeanAndVariance) {
  manual_seed(123);
  Moments m = moments(rand({kSamples}).to_vector<double>());
  // U[0,1) has mean 1/2 and variance 1/12. By the CLT the sample mean has standard deviation
  // sqrt(1/12 / 1e5) = 9.1e-4, so 0.0055 is six standard deviations. The sample variance has
  // standard deviation sqrt((mu4 - sigma^4) / n) = sqrt((1/80 - 1/144) / 1e5) = 2.4e-4; 0.0015 is
  // six of them.
  EXPECT_NEAR(m.mean, 0.5, 0.0055);
  EXPECT_NEAR(m.stddev * m.stddev, 1.0 / 12.0, 0.0015);
}

TEST(RandTest, UniformFillsTheIntervalEvenly) {
  manual_seed(99);
  std::vector<int64_t> counts(10, 0);
  for (double v : rand({kSamples}).to_vector<double>()) ++counts[static_cast<size_t>(v * 10)];
  // Each decile holds Binomial(1e5, 0.1) samples: mean 1e4, standard deviation sqrt(9e3) = 95;
  // 600 is more than six standard deviations.
  for (int64_t c : counts) EXPECT_NEAR(static_cast<double>(c), 10000.0, 600.0);
}

TEST(RandnTest, NormalMeanAndStd) {
  manual_seed(2024);
  std::vector<double> v = randn({kSamples}).to_vector<double>();
  Moments m = moments(v);
  // N(0,1): the sample mean has standard deviation 1/sqrt(1e5) = 3.2e-3 (0.019 is six of them);
  // the sample standard deviation has standard deviation about 1/sqrt(2e5) = 2.2e-3 (0.0135 is six).
  EXPECT_NEAR(m.mean, 0.0, 0.019);
  EXPECT_NEAR(m.stddev, 1.0, 0.0135);
  // P(|x| < 1) = 0.6827; the observed fraction has standard deviation sqrt(0.68 * 0.32 / 1e5) = 1.5e-3.
  int64_t within = 0;
  for (double x : v) within += std::fabs(x) < 1.0;
  EXPECT_NEAR(static_cast<double>(within) / kSamples, 0.6827, 0.009);
}

TEST(RandnTest, Float64NormalMeanAndStd) {
  manual_seed(5);
  Tensor t = randn({kSamples}, dtype(kFloat64));
  EXPECT_EQ(t.dtype(), kFloat64);
  Moments m = moments(t.to_vector<double>());
  EXPECT_NEAR(m.mean, 0.0, 0.019);  // six standard deviations, as above
  EXPECT_NEAR(m.stddev, 1.0, 0.0135);
}

TEST(RandTest, Float64UsesDoublePrecision) {
  manual_seed(11);
  Tensor t = rand({1000}, dtype(kFloat64));
  EXPECT_EQ(t.dtype(), kFloat64);
  int64_t beyond_float = 0;
  for (double v : t.to_vector<double>()) {
    EXPECT_GE(v, 0.0);
    EXPECT_LT(v, 1.0);
    beyond_float += static_cast<double>(static_cast<float>(v)) != v;
  }
  // Doubles drawn with a 53-bit mantissa are almost never representable as floats.
  EXPECT_GT(beyond_float, 990);
  EXPECT_NEAR(moments(t.to_vector<double>()).mean, 0.5, 0.06);  // 6 sigma for 1000 samples: 6 * 0.0091
}

TEST(ManualSeedTest, SameSeedGivesSameValues) {
  manual_seed(42);
  Tensor a = rand({64});
  Tensor an = randn({3, 5});
  manual_seed(42);
  Tensor b = rand({64});
  Tensor bn = randn({3, 5});
  EXPECT_EQ(a.to_vector<float>(), b.to_vector<float>());
  EXPECT_EQ(an.to_vector<float>(), bn.to_vector<float>());
}

TEST(ManualSeedTest, ValuesDoNotDependOnWhenTheyAreEvaluated) {
  manual_seed(3);
  std::vector<float> eager = rand({16}).to_vector<float>();  // evaluated before the next draw
  manual_seed(3);
  Tensor lazy = rand({16});
  Tensor later = rand({16});  // a later draw must not change `lazy`
  later.eval();
  EXPECT_EQ(lazy.to_vector<float>(), eager);
}

TEST(ManualSeedTest, DifferentSeedsGiveDifferentValues) {
  manual_seed(1);
  std::vector<float> a = rand({32}).to_vector<float>();
  manual_seed(2);
  std::vector<float> b = rand({32}).to_vector<float>();
  int64_t equal = 0;
  for (size_t i = 0; i < a.size(); ++i) equal += a[i] == b[i];
  EXPECT_LT(equal, 2);
}

TEST(ManualSeedTest, ConsecutiveCallsGiveDifferentValues) {
  manual_seed(77);
  std::vector<float> a = rand({32}).to_vector<float>();
  std::vector<float> b = rand({32}).to_vector<float>();
  std::vector<float> c = randn({32}).to_vector<float>();
  std::vector<float> d = randn({32}).to_vector<float>();
  int64_t equal_ab = 0, equal_cd = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    equal_ab += a[i] == b[i];
    equal_cd += c[i] == d[i];
  }
  EXPECT_LT(equal_ab, 2);
  EXPECT_LT(equal_cd, 2);
}

TEST(ManualSeedTest, ElementsWithinOneTensorDiffer) {
  manual_seed(8);
  std::vector<float> v = rand({32}).to_vector<float>();
  int64_t repeats = 0;
  for (size_t i = 1; i < v.size(); ++i) repeats += v[i] == v[i - 1];
  EXPECT_LT(repeats, 2);
}

// ---------------------------------------------------------------------------------------------
// from_blob

TEST(FromBlobTest, WrapsTheUserMemoryWithShapeAndDtype) {
  float data[6] = {1, 2, 3, 4, 5, 6};
  Tensor t = from_blob(data, {2, 3});
  EXPECT_EQ(t.dtype(), kFloat32);
  expect_tensor<float>(t, {2, 3}, {1, 2, 3, 4, 5, 6});
  int64_t longs[3] = {-1, 0, 1LL << 40};
  expect_tensor<int64_t>(from_blob(longs, {3}, dtype(kInt64)), {3}, {-1, 0, 1LL << 40});
}

TEST(FromBlobTest, ReadsTheUserMemoryWithoutCopying) {
  double data[4] = {1, 2, 3, 4};
  Tensor t = from_blob(data, {4}, dtype(kFloat64));
  data[2] = 30;  // not copied: the tensor sees the change
  expect_tensor<double>(t, {4}, {1, 2, 30, 4});
}

TEST(FromBlobTest, DataPtrIsTheUserPointer) {
  int32_t data[4] = {1, 2, 3, 4};
  Tensor t = from_blob(data, {2, 2}, dtype(kInt32));
  EXPECT_EQ(t.data_ptr<int32_t>(), data);
  t.data_ptr<int32_t>()[3] = 40;  // writes go to the user's memory
  EXPECT_EQ(data[3], 40);
  expect_tensor<int32_t>(t, {2, 2}, {1, 2, 3, 40});
}

TEST(FromBlobTest, OpsOnABlobReadItsValues) {
  float data[3] = {1, 2, 3};
  Tensor t = from_blob(data, {3});
  expect_tensor<float>(t * 2 + 1, {3}, {3, 5, 7});
}

TEST(FromBlobTest, DeleterRunsWhenTheTensorDies) {
  float data[2] = {1, 2};
  int calls = 0;
  void* deleted = nullptr;
  {
    Tensor t = from_blob(data, {2}, [&](void* p) { ++calls, deleted = p; });
    expect_tensor<float>(t, {2}, {1, 2});
    EXPECT_EQ(calls, 0);
  }
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(deleted, static_cast<void*>(data));
}

TEST(FromBlobTest, DeleterWaitsForViewsOfTheTensor) {
  float data[4] = {1, 2, 3, 4};
  int calls = 0;
  Tensor view;
  {
    Tensor t = from_blob(data, {2, 2}, [&](void*) { ++calls; });
    view = t.t();
  }
  EXPECT_EQ(calls, 0);  // the view still uses the memory
  expect_tensor<float>(view, {2, 2}, {1, 3, 2, 4});
  view = Tensor();
  EXPECT_EQ(calls, 1);
}

TEST(FromBlobTest, DeleterWaitsForPendingResultsThatReadTheMemory) {
  float data[3] = {1, 2, 3};
  int calls = 0;
  Tensor doubled;
  {
    Tensor t = from_blob(data, {3}, [&](void*) { ++calls; });
    doubled = t * 2;  // recorded, not yet computed
  }
  EXPECT_EQ(calls, 0);
  expect_tensor<float>(doubled, {3}, {2, 4, 6});
  doubled = Tensor();
  EXPECT_EQ(calls, 1);
}

TEST(FromBlobTest, NullDataOnlyForEmptyTensors) {
  Tensor t = from_blob(nullptr, {0, 3});
  EXPECT_EQ(t.sizes(), (Shape{0, 3}));
  EXPECT_KILN_ERROR(from_blob(nullptr, {2}), "from_blob", "null");
}

// ---------------------------------------------------------------------------------------------
// kiln::tensor

TEST(TensorLiteralTest, DoubleListGivesFloat32) {
  Tensor t = tensor({1.5, -2.0, 3.25});
  EXPECT_EQ(t.dtype(), kFloat32);
  expect_tensor<float>(t, {3}, {1.5, -2.0, 3.25});
}

TEST(TensorLiteralTest, IntListGivesInt64) {
  Tensor t = tensor({1, -2, 3});
  EXPECT_EQ(t.dtype(), kInt64);
  expect_tensor<int64_t>(t, {3}, {1, -2, 3});
}

TEST(TensorLiteralTest, BoolListGivesBool) {
  Tensor t = tensor({true, false, true});
  EXPECT_EQ(t.dtype(), kBool);
  EXPECT_EQ(t.to_vector<bool>(), (std::vector<bool>{true, false, true}));
}

TEST(TensorLiteralTest, ExplicitDtypeConverts) {
  Tensor d = tensor({1.5, 2.5}, dtype(kFloat64));
  EXPECT_EQ(d.dtype(), kFloat64);
  expect_tensor<double>(d, {2}, {1.5, 2.5});
  Tensor i = tensor({1, 2, 3}, dtype(kInt32));
  EXPECT_EQ(i.dtype(), kInt32);
  expect_tensor<int32_t>(i, {3}, {1, 2, 3});
  Tensor f = tensor({0, 7}, dtype(kFloat32));
  expect_tensor<float>(f, {2}, {0, 7});
  Tensor b = tensor({0.0, 2.0}, dtype(kBool));
  EXPECT_EQ(b.to_vector<bool>(), (std::vector<bool>{false, true}));
}

TEST(TensorLiteralTest, SingleValueIsZeroDim) {
  Tensor t = tensor(3.5);
  EXPECT_EQ(t.dim(), 0);
  EXPECT_EQ(t.dtype(), kFloat32);
  EXPECT_EQ(t.item<double>(), 3.5);
}

TEST(TensorLiteralTest, CopiesTheValues) {
  std::vector<double> values = {1, 2, 3};
  Tensor t = tensor(values);
  values[0] = 100;
  expect_tensor<float>(t, {3}, {1, 2, 3});
}

// ---------------------------------------------------------------------------------------------
// requires_grad

TEST(RequiresGradOptionTest, DefaultsToFalse) {
  EXPECT_FALSE(zeros({2}).requires_grad());
  EXPECT_FALSE(rand({2}).requires_grad());
  EXPECT_FALSE(tensor({1.0}).requires_grad());
}

TEST(RequiresGradOptionTest, IsStoredByEveryFactory) {
  float data[2] = {1, 2};
  EXPECT_TRUE(zeros({2}, requires_grad()).requires_grad());
  EXPECT_TRUE(ones({2}, requires_grad(true)).requires_grad());
  EXPECT_TRUE(full({2}, 1.5, requires_grad()).requires_grad());
  EXPECT_TRUE(rand({2}, requires_grad()).requires_grad());
  EXPECT_TRUE(randn({2}, dtype(kFloat64).requires_grad(true)).requires_grad());
  EXPECT_TRUE(arange(0.0, 2.0, 0.5, requires_grad()).requires_grad());
  EXPECT_TRUE(tensor({1.0, 2.0}, requires_grad()).requires_grad());
  EXPECT_TRUE(from_blob(data, {2}, requires_grad()).requires_grad());
  EXPECT_FALSE(zeros({2}, requires_grad(false)).requires_grad());
}

TEST(RequiresGradOptionTest, IntegerDtypeCannotRequireGrad) {
  // LibTorch: "Only Tensors of floating point and complex dtype can require gradients".
  EXPECT_KILN_ERROR((zeros({2}, dtype(kInt64).requires_grad(true))), "zeros", "int64");
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST(FactoryErrorsTest, NegativeSizes) {
  EXPECT_KILN_ERROR(zeros({2, -3}), "zeros", "-3", "[2, -3]");
  EXPECT_KILN_ERROR(ones({-1}), "ones", "-1");
  EXPECT_KILN_ERROR(full({4, -2}, 1.0), "full", "-2");
  EXPECT_KILN_ERROR(rand({-5}), "rand", "-5");
  EXPECT_KILN_ERROR(randn({3, -1}), "randn", "-1");
  float data[1] = {0};
  EXPECT_KILN_ERROR(from_blob(data, {-1}), "from_blob", "-1");
}

TEST(FactoryErrorsTest, RandRejectsIntegerDtypes) {
  EXPECT_KILN_ERROR(rand({2}, dtype(kInt64)), "rand", "int64");
  EXPECT_KILN_ERROR(rand({2}, dtype(kInt32)), "rand", "int32");
  EXPECT_KILN_ERROR(randn({2}, dtype(kInt64)), "randn", "int64");
  EXPECT_KILN_ERROR(rand({2}, dtype(kBool)), "rand", "bool");
}

TEST(FactoryErrorsTest, ArangeZeroStep) {
  EXPECT_KILN_ERROR(arange(0, 5, 0), "arange", "step");
  EXPECT_KILN_ERROR(arange(0.0, 1.0, 0.0), "arange", "step");
}

TEST(FactoryErrorsTest, ArangeStepSignInconsistentWithBounds) {
  EXPECT_KILN_ERROR(arange(5, 0), "arange", "5", "0");
  EXPECT_KILN_ERROR(arange(0, 5, -1), "arange", "-1");
  EXPECT_KILN_ERROR(arange(1.0, 2.0, -0.5), "arange", "-0.5");
  EXPECT_KILN_ERROR(arange(-3), "arange", "-3");
}

TEST(FactoryErrorsTest, CudaDeviceRejected) {
  float data[1] = {0};
  EXPECT_KILN_ERROR(zeros({2}, device(kCUDA)), "zeros", "cuda");
  EXPECT_KILN_ERROR(ones({2}, device(Device(kCUDA, 0))), "ones", "cuda:0");
  EXPECT_KILN_ERROR(full({2}, 1, device(kCUDA)), "full", "cuda");
  EXPECT_KILN_ERROR(arange(3, device(kCUDA)), "arange", "cuda");
  EXPECT_KILN_ERROR(rand({2}, device(kCUDA)), "rand", "cuda");
  EXPECT_KILN_ERROR(randn({2}, device(kCUDA)), "randn", "cuda");
  EXPECT_KILN_ERROR(from_blob(data, {1}, device(kCUDA)), "from_blob", "cuda");
  EXPECT_KILN_ERROR((tensor({1.0, 2.0}, device(kCUDA))), "tensor", "cuda");
}

// The rest of LibTorch's creation functions.
TEST(MoreFactories, EyeLinspaceLogspace) {
  expect_tensor<double>(eye(3), {3, 3}, {1, 0, 0, 0, 1, 0, 0, 0, 1});
  expect_tensor<int64_t>(eye(2, 3, dtype(kInt64)), {2, 3}, {1, 0, 0, 0, 1, 0});
  expect_tensor<double>(linspace(0, 1, 5, dtype(kFloat64)), {5}, {0, 0.25, 0.5, 0.75, 1}, 0);
  expect_tensor<double>(linspace(-1, 1, 1), {1}, {-1});
  EXPECT_EQ(linspace(0, 1, 0).numel(), 0);
  Tensor l = linspace(0.1, 0.7, 7, dtype(kFloat64));  // both ends exact, as PyTorch's
  EXPECT_EQ(l.to_vector<double>().front(), 0.1);
  EXPECT_EQ(l.to_vector<double>().back(), 0.7);
  expect_tensor<double>(logspace(0, 3, 4, 10.0, dtype(kFloat64)), {4}, {1, 10, 100, 1000}, 1e-12);
  expect_tensor<double>(logspace(0, 2, 3, 2.0), {3}, {1, 2, 4}, 1e-6);
  EXPECT_KILN_ERROR(linspace(0, 1, -1), "linspace", "non-negative");
}

TEST(MoreFactories, EmptyRandintRandpermNormal) {
  Tensor e = empty({2, 3}, dtype(kInt32));
  EXPECT_EQ(e.sizes(), (Shape{2, 3}));
  EXPECT_EQ(e.dtype(), kInt32);
  EXPECT_EQ(empty_like(e).dtype(), kInt32);
  manual_seed(11);
  std::vector<int64_t> r = randint(3, 8, {2000}).to_vector<int64_t>();
  std::vector<int> counts(8, 0);
  for (int64_t v : r) ++counts.at(static_cast<size_t>(v));
  EXPECT_EQ(counts[0] + counts[1] + counts[2], 0);
  for (int v = 3; v < 8; ++v) EXPECT_NEAR(counts[v], 400, 80) << v;  // uniform on [3, 8)
  EXPECT_EQ(randint(5, {3}).dtype(), kInt64);
  std::vector<int64_t> p = randperm(50).to_vector<int64_t>();
  std::vector<int64_t> sorted = p;
  std::sort(sorted.begin(), sorted.end());
  for (int64_t i = 0; i < 50; ++i) EXPECT_EQ(sorted[i], i);
  EXPECT_NE(p, sorted);  // shuffled (probability 1/50! of failing)
  Tensor n = normal(3.0, 2.0, {20000}, dtype(kFloat64));
  EXPECT_NEAR(n.mean().item<double>(), 3.0, 0.05);
  EXPECT_NEAR(n.std().item<double>(), 2.0, 0.05);
  Tensor m = normal(full({20000}, -1.0, dtype(kFloat64)), 0.5);
  EXPECT_NEAR(m.mean().item<double>(), -1.0, 0.02);
  EXPECT_KILN_ERROR(randint(5, 5, {2}), "randint", "from=5");
  EXPECT_KILN_ERROR(normal(0.0, -1.0, {2}), "normal", "std");
  EXPECT_KILN_ERROR(eye(-1), "eye", "non-negative");
}

}  // namespace
}  // namespace kiln
