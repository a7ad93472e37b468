// Golden tests for the textual IR printed by kiln::dump_ir; every golden text also reads back to
// itself through the parser (ir/parser.h).
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "ir/parser.h"
#include "ir/printer.h"
#include "kiln/kiln.h"

// Each recorded line is on the same line as the `__LINE__` it is checked against.
// clang-format off
namespace {

// Replaces each "{name}" in `golden` with its value (locations vary with the build's file path).
std::string fill(std::string golden, const std::map<std::string, std::string>& values) {
  for (const auto& [key, value] : values) {
    std::string pattern = "{" + key + "}";
    for (size_t at; (at = golden.find(pattern)) != std::string::npos;) golden.replace(at, pattern.size(), value);
  }
  return golden;
}

// kiln::dump_ir, checking that parse -> print gives the text back.
std::string dump(const kiln::TensorList& tensors) {
  std::string text = tensors.size() == 1 ? kiln::dump_ir(tensors[0]) : kiln::dump_ir(tensors);
  std::vector<const kiln::ir::Node*> roots;
  kiln::ir::ParsedGraph parsed = kiln::ir::parse_graph(text);
  for (const kiln::ir::NodePtr& n : parsed.outputs) roots.push_back(n.get());
  EXPECT_EQ(kiln::ir::print_graph(roots), text);
  return text;
}
std::string dump(const kiln::Tensor& t) { return dump(kiln::TensorList{t}); }

std::string at(int line) { return std::string(__FILE__) + ":" + std::to_string(line); }

TEST(DumpIr, ElementwiseChainWithBroadcastAndScalar) {
  int l1 = __LINE__; auto x = kiln::ones({2, 3});
  int l2 = __LINE__; auto b = kiln::arange(3, kiln::dtype(kiln::kFloat32));
  int l3 = __LINE__; auto y = (x * 2.5 + b).exp();
  // ones() is a compiled constant; the user's 2.5 a runtime scalar, a one-element buffer that
  // shows its value.
  EXPECT_EQ(dump(y), fill(R"(%0 = full {value=1.0} : f32[2, 3]  loc({1})
%1 = buffer {value=2.5} : f32[1, 1]  loc({3})
%2 = expand %1 : f32[2, 3]  loc({3})
%3 = mul %0, %2 : f32[2, 3]  loc({3})
%4 = iota {value=0, delta=1} : f32[3]  loc({2})
%5 = reshape %4 : f32[1, 3]  loc({3})
%6 = expand %5 : f32[2, 3]  loc({3})
%7 = add %3, %6 : f32[2, 3]  loc({3})
%8 = exp %7 : f32[2, 3]  loc({3})
return %8
)",
                                   {{"1", at(l1)}, {"2", at(l2)}, {"3", at(l3)}}));
}

TEST(DumpIr, ReductionMovementAndMatmul) {
  kiln::manual_seed(11);
  int l1 = __LINE__; auto a = kiln::rand({4, 3}, kiln::dtype(kiln::kFloat64));
  int l2 = __LINE__; auto m = a.t().matmul(a).sum({0}, true).slice(1, 0, 3, 2);
  EXPECT_EQ(dump(m), fill(R"(%0 = random {distribution=uniform, seed=11, offset=0} : f64[4, 3]  loc({1})
%1 = permute %0 {axes=[1, 0]} : f64[3, 4]  loc({2})
%2 = matmul %1, %0 : f64[3, 3]  loc({2})
%3 = reduce_sum %2 {axes=[0]} : f64[1, 3]  loc({2})  // in sum
%4 = slice %3 {low=[0, 0], step=[1, 2]} : f64[1, 2]  loc({2})
return %4
)",
                      {{"1", at(l1)}, {"2", at(l2)}}));
}

// A composite decomposes into primitives, each tagged with the composite's name.
TEST(DumpIr, CompositeOpsDecomposeIntoPrimitivesTaggedWithTheirName) {
  kiln::manual_seed(7);
  int l1 = __LINE__; auto x = kiln::randn({2, 4});
  int l2 = __LINE__; auto p = kiln::softmax(x, -1);
  EXPECT_EQ(dump(p), fill(R"(%0 = random {distribution=normal, seed=7, offset=0} : f32[2, 4]  loc({1})
%1 = reduce_max %0 {axes=[1]} : f32[2, 1]  loc({2})  // in softmax
%2 = expand %1 : f32[2, 4]  loc({2})  // in softmax
%3 = sub %0, %2 : f32[2, 4]  loc({2})  // in softmax
%4 = exp %3 : f32[2, 4]  loc({2})  // in softmax
%5 = full {value=1.0} : f32[2, 1]  loc({2})  // in softmax
%6 = reduce_sum %4 {axes=[1]} : f32[2, 1]  loc({2})  // in softmax
%7 = div %5, %6 : f32[2, 1]  loc({2})  // in softmax
%8 = expand %7 : f32[2, 4]  loc({2})  // in softmax
%9 = mul %4, %8 : f32[2, 4]  loc({2})  // in softmax
return %9
)",
                                   {{"1", at(l1)}, {"2", at(l2)}}));
}

TEST(DumpIr, SharedNodesPrintOnceAndSeveralOutputsShareNumbering) {
  int l1 = __LINE__; auto x = kiln::full({3}, 2);
  int l2 = __LINE__; auto y = x * x;
  int l3 = __LINE__; auto z = (y > 3).to(kiln::kInt32);
  EXPECT_EQ(dump({y, z}), fill(R"(%0 = buffer {value=2} : i64[1]  loc({1})
%1 = expand %0 : i64[3]  loc({1})
%2 = mul %1, %1 : i64[3]  loc({2})
%3 = buffer {value=3} : i64[1]  loc({3})
%4 = expand %3 : i64[3]  loc({3})
%5 = gt %2, %4 : i1[3]  loc({3})
%6 = cast %5 : i32[3]  loc({3})
return %2, %6
)",
                                        {{"1", at(l1)}, {"2", at(l2)}, {"3", at(l3)}}));
}

TEST(DumpIr, EvaluatedTensorsPrintAsBuffers) {
  int l1 = __LINE__; auto x = kiln::arange(4) + 1;
  x.eval();
  int l2 = __LINE__; auto y = x.pow(2);
  EXPECT_EQ(dump(y), fill(R"(%0 = buffer : i64[4]  loc({1})
%1 = buffer {value=2} : i64[1]  loc({2})
%2 = expand %1 : i64[4]  loc({2})
%3 = pow %0, %2 : i64[4]  loc({2})
return %3
)",
                                   {{"1", at(l1)}, {"2", at(l2)}}));
}

TEST(DumpIr, FloatConstantsRoundTripExactly) {
  int l1 = __LINE__; auto y = kiln::zeros({1}, kiln::dtype(kiln::kFloat64)) + 0.1;
  EXPECT_EQ(dump(y), fill(R"(%0 = full {value=0.0} : f64[1]  loc({1})
%1 = buffer {value=0.10000000000000001} : f64[1]  loc({1})
%2 = add %0, %1 : f64[1]  loc({1})
return %2
)",
                                   {{"1", at(l1)}}));
}

TEST(DumpIr, PadAndWhereFromInPlaceWriteThroughAView) {
  auto base = kiln::zeros({2, 4}, kiln::dtype(kiln::kInt32));
  int l1 = __LINE__; auto v = base.slice(1, 1, 4, 2);
  int l2 = __LINE__; v.fill_(5);
  std::string text = dump(base);
  EXPECT_NE(text.find("pad %"), std::string::npos) << text;
  EXPECT_NE(text.find("{low=[0, 1], high=[0, 0], interior=[0, 1], value=false}"), std::string::npos) << text;
  EXPECT_NE(text.find("where %"), std::string::npos) << text;
  EXPECT_NE(text.find("loc(" + at(l2) + ")"), std::string::npos) << text;
  (void)l1;
}

}  // namespace
// clang-format on
