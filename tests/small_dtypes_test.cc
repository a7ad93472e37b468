// uint8, int8 and int16 (kByte, kChar, kShort): wrapping arithmetic, PyTorch's promotion
// (uint8 with int8 gives int16), unsigned comparison, division and conversion for uint8, in
// fused kernels and in the reference executor alike. Expected values are LibTorch 1.13's.
#include <gtest/gtest.h>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace kiln {
namespace {

using testing::expect_tensor;

class SmallDtypes : public ::testing::TestWithParam<Backend> {};

TEST_P(SmallDtypes, ArithmeticWrapsAndPromotes) {
  BackendGuard backend(GetParam());
  Tensor u = tensor({200, 100, 3}).to(kUInt8);
  Tensor i = tensor({-128, 127, -3}).to(kInt8);
  expect_tensor<int64_t>(u + u, {3}, {144, 200, 6});      // 400 mod 256
  expect_tensor<int64_t>(i - 1, {3}, {127, 126, -4});     // -129 wraps to 127
  EXPECT_EQ((u + i).dtype(), kInt16);                     // promote_types(uint8, int8)
  expect_tensor<int64_t>(u + i, {3}, {72, 227, 0});
  EXPECT_EQ((i * tensor({2}).to(kInt16)).dtype(), kInt16);
  expect_tensor<int64_t>(tensor({300, -300}).to(kInt16) * 200, {2}, {-5536, 5536});  // 60000 wraps
}

TEST_P(SmallDtypes, Uint8IsUnsigned) {
  BackendGuard backend(GetParam());
  Tensor u = tensor({200, 100, 3}).to(kUInt8);
  expect_tensor<bool>(u > 150, {3}, {true, false, false});
  EXPECT_EQ(u.max().item<int64_t>(), 200);
  EXPECT_EQ(u.argmax().item<int64_t>(), 0);
  expect_tensor<double>(u.to(kFloat32), {3}, {200, 100, 3});
  expect_tensor<int64_t>(tensor({250.7, 3.2}).to(kUInt8), {2}, {250, 3});
  expect_tensor<int64_t>(maximum(u, tensor({150, 150, 150}).to(kUInt8)), {3}, {200, 150, 150});
  expect_tensor<int64_t>(u.sum(), {}, {303});  // sums as int64
  expect_tensor<int64_t>(u.abs(), {3}, {200, 100, 3});
}

INSTANTIATE_TEST_SUITE_P(Backends, SmallDtypes, ::testing::Values(Backend::Jit, Backend::Reference));

TEST(SmallDtypes, NamesAndSizes) {
  EXPECT_EQ(element_size(kUInt8), 1u);
  EXPECT_EQ(element_size(kShort), 2u);
  EXPECT_EQ(dtype_name(kByte), "uint8");
  EXPECT_EQ(dtype_name(kChar), "int8");
  std::vector<uint8_t> bytes = {1, 255};
  Tensor b = from_blob(bytes.data(), {2}, dtype(kUInt8));
  EXPECT_EQ(b.data_ptr<uint8_t>()[1], 255);
  EXPECT_EQ(b.to(kInt64).sum().item<int64_t>(), 256);
}

}  // namespace
}  // namespace kiln
