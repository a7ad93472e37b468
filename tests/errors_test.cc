// Bad input raises kiln::Error at the call that caused it, naming the op, the shapes or values,
// and the caller's file:line; nothing is recorded or changed by a failed call.
#include <gtest/gtest.h>

#include "kiln/kiln.h"
#include "tests/testing.h"

namespace {

TEST(Errors, ShapeMismatchInOperatorsNamesTheLineOfTheExpression) {
  auto a = kiln::ones({2, 3});
  auto b = kiln::ones({4});
  EXPECT_KILN_ERROR(a + b, "add", "[2, 3]", "[4]", "cannot be broadcast");
  EXPECT_KILN_ERROR(a * b, "mul", "[2, 3]", "[4]");
  EXPECT_KILN_ERROR(a == b, "eq", "[2, 3]", "[4]");
  EXPECT_KILN_ERROR(a.add(b), "add", "[2, 3]", "[4]");
  EXPECT_KILN_ERROR((kiln::where(a > 0, a, b)), "where", "[2, 3]", "[4]");
}

TEST(Errors, MatmulShapes) {
  auto x = kiln::ones({4, 3});
  auto w = kiln::ones({2, 2});
  EXPECT_KILN_ERROR(x.matmul(w), "matmul", "[4, 3]", "[2, 2]", "3 != 2");
  EXPECT_KILN_ERROR((kiln::matmul(x, kiln::ones({3}, kiln::dtype(kiln::kFloat64)))), "matmul", "float32[4, 3]",
                    "float64[3]");
  EXPECT_KILN_ERROR((kiln::matmul(kiln::tensor(1.0), x)), "matmul", "at least 1D");
}

TEST(Errors, BadAxes) {
  auto x = kiln::ones({2, 3});
  EXPECT_KILN_ERROR(x.sum({2}), "sum", "dimension 2", "[2, 3]");
  EXPECT_KILN_ERROR(x.sum({-3}), "sum", "dimension -3", "[2, 3]");
  EXPECT_KILN_ERROR((x.sum({1, -1})), "sum", "multiple times");
  EXPECT_KILN_ERROR(kiln::softmax(x, 5), "softmax", "dimension 5", "[2, 3]");
  EXPECT_KILN_ERROR(x.transpose(0, 2), "transpose", "dimension 2");
  EXPECT_KILN_ERROR((x.permute({0, 0})), "permute", "repeated dim 0");
  EXPECT_KILN_ERROR(x.unsqueeze(4), "unsqueeze", "dimension 4");
  EXPECT_KILN_ERROR(x.size(2), "size", "dimension 2");
}

TEST(Errors, WrongDtypes) {
  auto i = kiln::arange(6).reshape({2, 3});
  EXPECT_KILN_ERROR(i.mean(), "mean", "int64");
  EXPECT_KILN_ERROR(kiln::softmax(i, 1), "softmax", "int64");
  EXPECT_KILN_ERROR((kiln::where(i, i, i)), "where", "bool condition", "int64[2, 3]");
  EXPECT_KILN_ERROR(-(i > 2), "neg", "bool");
  EXPECT_KILN_ERROR((kiln::rand({2}, kiln::dtype(kiln::kInt32))), "rand", "int32");
  EXPECT_KILN_ERROR(i.data_ptr<float>(), "data_ptr", "float32", "int64");
  EXPECT_KILN_ERROR(i.requires_grad_(), "requires_grad_", "floating point");
}

TEST(Errors, OutOfRangeSlicesAndIndices) {
  auto x = kiln::ones({2, 3});
  EXPECT_KILN_ERROR(x.select(1, 3), "select", "index 3", "[2, 3]");
  EXPECT_KILN_ERROR(x[-3], "select", "index -3", "[2, 3]");
  EXPECT_KILN_ERROR(x.narrow(1, 2, 2), "narrow", "start 2", "length 2", "[2, 3]");
  EXPECT_KILN_ERROR((x.slice(0, 0, 1, 0)), "slice", "step must be positive");
  EXPECT_KILN_ERROR((x.slice(2, 0, 1)), "slice", "dimension 2");
}

TEST(Errors, BadShapes) {
  auto x = kiln::ones({2, 3});
  EXPECT_KILN_ERROR((x.reshape({4, 2})), "reshape", "[4, 2]", "size 6");
  EXPECT_KILN_ERROR((x.reshape({-1, -1})), "reshape", "only one dimension");
  EXPECT_KILN_ERROR((x.t().view({6})), "view", "[6]", "stride");
  EXPECT_KILN_ERROR((x.expand({3, 3})), "expand", "[3, 3]", "[2, 3]");
  EXPECT_KILN_ERROR((kiln::cat({x, kiln::ones({2, 2})}, 0)), "cat", "[2, 3]", "[2, 2]");
  EXPECT_KILN_ERROR((kiln::stack({x, kiln::ones({3, 2})})), "stack", "[2, 3]", "[3, 2]");
  EXPECT_KILN_ERROR((kiln::zeros({2, -1})), "zeros", "negative dimension -1");
  EXPECT_KILN_ERROR(x.item(), "item", "6 elements");
  EXPECT_KILN_ERROR(kiln::ones({0}).max(), "max", "[0]");
}

TEST(Errors, BadValues) {
  EXPECT_KILN_ERROR((kiln::arange(0, 5, 0)), "arange", "step must be nonzero");
  EXPECT_KILN_ERROR((kiln::arange(5, 0, 1)), "arange", "start 5", "end 0", "step 1");
  EXPECT_KILN_ERROR((kiln::gelu(kiln::ones({1}), "fast")), "gelu", "\"fast\"");
  EXPECT_KILN_ERROR(kiln::ones({2}).clamp(std::nullopt), "clamp", "at least one");
  EXPECT_KILN_ERROR((kiln::pow(kiln::arange(3), -1)), "pow", "negative integer powers", "-1");
}

TEST(Errors, UnsupportedDeviceAndUndefinedTensors) {
  EXPECT_KILN_ERROR((kiln::ones({2}, kiln::device(kiln::kCUDA))), "ones", "cuda");
  EXPECT_KILN_ERROR(kiln::ones({2}).to(kiln::kCUDA), "to", "cuda");
  kiln::Tensor undefined;
  EXPECT_KILN_ERROR(kiln::ones({2}) + undefined, "add", "undefined");
  EXPECT_KILN_ERROR(undefined.exp(), "exp", "undefined");
}

TEST(Errors, FailedCallsRecordNothing) {
  auto x = kiln::ones({2, 3});
  auto w = kiln::ones({2, 2});
  int64_t nodes = kiln::stats().live_nodes;
  EXPECT_THROW(x.matmul(w), kiln::Error);
  EXPECT_THROW(x + kiln::ones({5}), kiln::Error);
  EXPECT_THROW(x.sum({3}), kiln::Error);
  EXPECT_EQ(kiln::stats().live_nodes, nodes);
}

TEST(Errors, ErrorCarriesOpAndLocationFields) {
  auto x = kiln::ones({2});
  int line = __LINE__ + 2;
  try {
    x.reshape({3});
    FAIL() << "expected kiln::Error";
  } catch (const kiln::Error& e) {
    EXPECT_EQ(e.op(), "reshape");
    EXPECT_EQ(std::string(e.loc().file), __FILE__);
    EXPECT_EQ(e.loc().line, line);
  }
}

}  // namespace
