// The textual IR read back (ir/parser.h): print -> parse -> print is identical for random graphs
// of every dtype, their backward graphs, a training step's recorded graphs and the golden dumps'
// ops; a parsed graph computes what the original does; malformed text gives an error with its
// line, column and what was expected, and never a crash.
#include "ir/parser.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ir/ops.h"
#include "ir/printer.h"
#include "kiln/kiln.h"
#include "kiln/nn/modules.h"
#include "passes/autodiff.h"
#include "runtime/executor.h"
#include "tests/backward_graph.h"
#include "tests/random_graph.h"

namespace kiln {
namespace {

std::string print(const std::vector<ir::NodePtr>& outputs) {
  std::vector<const ir::Node*> roots;
  for (const ir::NodePtr& n : outputs) roots.push_back(n.get());
  return ir::print_graph(roots);
}

// Parses `text` and prints the result.
std::string round_trip(const std::string& text) { return print(ir::parse_graph(text).outputs); }

// The values of `outputs` (evaluated by the JIT), as doubles.
std::vector<double> values(const std::vector<ir::NodePtr>& outputs) {
  runtime::execute(outputs, {});
  std::vector<double> v;
  for (const ir::NodePtr& n : outputs)
    dispatch_dtype(n->dtype, [&]<typename T>() {
      for (int64_t i = 0; i < n->numel(); ++i) v.push_back(static_cast<double>(n->data<T>()[i]));
    });
  return v;
}

TEST(Parser, RandomGraphsRoundTripAndComputeTheSame) {
  for (uint32_t seed = 1; seed <= 260; ++seed) {
    // Seeds past 200: graphs with float16 and bfloat16 leaves.
    Tensor t = testing::RandomGraph(seed > 200 ? seed - 200 : seed, false, seed > 200).build();
    if (t.node()->is_buffer()) continue;
    std::string text = dump_ir(t);
    ir::ParsedGraph parsed = ir::parse_graph(text);
    ASSERT_EQ(print(parsed.outputs), text) << "seed " << seed;
    // Random graphs' leaves are random, full and iota nodes: the parsed graph has every value.
    std::vector<double> want = values({t.node()}), got = values(parsed.outputs);
    ASSERT_EQ(got.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i)
      if (!std::isnan(want[i])) ASSERT_EQ(got[i], want[i]) << "seed " << seed << " element " << i;
  }
}

TEST(Parser, BackwardGraphsRoundTrip) {
  int checked = 0;
  for (uint32_t seed = 1; seed <= 100; ++seed) {
    std::vector<ir::NodePtr> graph = testing::random_backward_graph(seed);
    if (graph.empty()) continue;
    std::string text = print(graph);
    ASSERT_EQ(round_trip(text), text) << "seed " << seed;
    ++checked;
  }
  EXPECT_GT(checked, 50);
}

TEST(Parser, ATrainingStepsGraphsRoundTrip) {
  manual_seed(0);
  nn::Sequential model(nn::Linear(6, 5), nn::ReLU(), nn::Dropout(0.3), nn::Linear(5, 3));
  Tensor x = randn({4, 6}), y = randint(0, 3, {4});
  Tensor loss = nn::functional::cross_entropy(model->forward(x), y);
  std::string text = dump_ir(loss);
  EXPECT_NE(text.find("// in cross_entropy"), std::string::npos) << text;
  EXPECT_EQ(round_trip(text), text);
  // The golden dumps' ops: runtime scalars, iota, slices with steps, pads and transfers' absence.
  Tensor base = zeros({2, 4}, dtype(kInt32));
  base.slice(1, 1, 4, 2).fill_(5);
  Tensor m = (arange(12, dtype(kFloat64)).reshape({3, 4}) * 0.5).t().matmul(ones({3, 2}, dtype(kFloat64)));
  text = dump_ir({base, m, constant_pad_nd(m, {1, 2}, 0.25), cat({m, m}, 0)});
  EXPECT_EQ(round_trip(text), text);
}

TEST(Parser, DumpHeadersAndCommentsAreSkipped) {
  std::string text = "// graph3: evaluated for item() at model.cc:9 (as recorded)\n\n"
                     "%0 = iota {value=0, delta=1} : f32[4]  loc(model.cc:3)\n"
                     "%1 = exp %0 : f32[4]  loc(model.cc:4)  // in softmax; a note\n"
                     "return %1\n";
  EXPECT_EQ(round_trip(text), "%0 = iota {value=0, delta=1} : f32[4]  loc(model.cc:3)\n"
                              "%1 = exp %0 : f32[4]  loc(model.cc:4)  // in softmax\n"
                              "return %1\n");
}

TEST(Parser, BuffersAreInputsReadAsZerosAndRuntimeScalarsKeepTheirValue) {
  ir::ParsedGraph g = ir::parse_graph("%0 = buffer : f32[2, 2]  loc(a.cc:1)\n"
                                      "%1 = buffer {value=2.5} : f32[1, 1]  loc(a.cc:2)\n"
                                      "%2 = expand %1 : f32[2, 2]  loc(a.cc:2)\n"
                                      "%3 = add %0, %2 : f32[2, 2]  loc(a.cc:2)\n"
                                      "return %3\n");
  ASSERT_EQ(g.inputs.size(), 1u);
  EXPECT_EQ(g.inputs[0]->shape, Shape({2, 2}));
  EXPECT_EQ(values(g.outputs), std::vector<double>(4, 2.5));
}

// Found by tests/fuzz: `full {value=nan} : i32[...]` converted NaN to an integer, which C++
// leaves undefined. A float scalar now converts truncating, saturating, NaN as 0.
TEST(Parser, NonFiniteFloatValuesOfIntegerNodesAreDefined) {
  ir::ParsedGraph g = ir::parse_graph("%0 = full {value=nan} : i32[2]  loc(a.cc:1)\n"
                                      "%1 = full {value=-inf} : i64[1]  loc(a.cc:2)\n"
                                      "%2 = full {value=1e300} : u8[1]  loc(a.cc:3)\n"
                                      "%3 = full {value=-2.75} : i16[1]  loc(a.cc:4)\n"
                                      "return %0, %1, %2, %3\n");
  EXPECT_EQ(values(g.outputs), std::vector<double>({0, 0, -9223372036854775808.0, 255, -2}));
  EXPECT_EQ(Scalar(std::nan("")).to_long(), 0);
  EXPECT_EQ(Scalar(1e20).to<int32_t>(), 2147483647);
}

TEST(Parser, BuffersBeyondTheLimitAndShapesThatOverflowAreErrors) {
  try {
    ir::parse_graph("%0 = buffer : f32[1024, 1024]  loc(a.cc:1)\nreturn %0\n", "a.ir", 1 << 20);
    ADD_FAILURE() << "no error";
  } catch (const ir::ParseError& e) {
    EXPECT_EQ(e.line(), 1);
    EXPECT_NE(std::string(e.what()).find("more than the 1048576 bytes left"), std::string::npos) << e.what();
  }
  EXPECT_EQ(ir::parse_graph("%0 = buffer : f32[512, 512]  loc(a.cc:1)\nreturn %0\n", "a.ir", 1 << 20).inputs.size(), 1u);
  for (const char* shape : {"[4294967296, 4294967296]", "[-1]"}) {
    try {
      ir::parse_graph(std::string("%0 = full {value=0} : f32") + shape + "  loc(a.cc:1)\nreturn %0\n");
      ADD_FAILURE() << shape;
    } catch (const ir::ParseError& e) {
      EXPECT_EQ(e.column(), 26) << e.what();
      EXPECT_NE(std::string(e.what()).find("sizes >= 0"), std::string::npos) << e.what();
    }
  }
}

struct Malformed {
  std::string text;
  int line, column;
  std::string message;
};

TEST(Parser, MalformedTextIsAnErrorAtItsLineAndColumn) {
  const std::string ok = "%0 = iota {value=0, delta=1} : f32[4]  loc(m.cc:1)\n";
  const Malformed cases[] = {
      {ok + "%1 = frobnicate %0 : f32[4]  loc(m.cc:2)\nreturn %1\n", 2, 6, "expected an op name"},
      {ok + "%1 = exp %7 : f32[4]  loc(m.cc:2)\nreturn %1\n", 2, 11, "%7 is not defined above"},
      {ok + "%1 = exp %0 : q32[4]  loc(m.cc:2)\nreturn %1\n", 2, 15, "expected a dtype"},
      {ok + "%1 = exp %0 : f32[5]  loc(m.cc:2)\nreturn %1\n", 2, 6, "exp gives f32[4], but the line declares f32[5]"},
      {ok + "%1 = add %0 : f32[4]  loc(m.cc:2)\nreturn %1\n", 2, 6, "add takes 2 operand(s), got 1"},
      {ok + "%1 = reduce_sum %0 {axes=[3]} : f32[1]  loc(m.cc:2)\nreturn %1\n", 2, 6, "reduce_sum"},
      {ok + "%1 = exp %0 {colour=[1]} : f32[4]  loc(m.cc:2)\nreturn %1\n", 2, 14, "unknown attribute colour"},
      {ok + "%1 = exp %0 : f32[4]  loc(m.cc)\nreturn %1\n", 2, 27, "expected a location file:line"},
      {ok + "%1 = exp %0 : f32[4  loc(m.cc:2)\nreturn %1\n", 2, 22, "expected ']'"},
      {ok + "%0 = exp %0 : f32[4]  loc(m.cc:2)\nreturn %0\n", 2, 1, "%0 is defined twice"},
      {ok, 1, 1, "expected a `return` line at the end"},
      {ok + "return %0\n%1 = exp %0 : f32[4]  loc(m.cc:2)\n", 3, 1, "expected nothing after the `return` line"},
      {ok + "return %0 junk\n", 2, 11, "expected the end of the line"},
      {"garbage\n", 1, 1, "expected a node line"},
      {ok + "%1 = full {value=[1]} : f32[4]  loc(m.cc:2)\nreturn %1\n", 2, 18, "expected a value"},
  };
  for (const Malformed& c : cases) {
    try {
      ir::parse_graph(c.text, "m.ir");
      ADD_FAILURE() << "no error for:\n" << c.text;
    } catch (const ir::ParseError& e) {
      EXPECT_EQ(e.line(), c.line) << e.what();
      EXPECT_EQ(e.column(), c.column) << e.what();
      EXPECT_NE(std::string(e.what()).find(c.message), std::string::npos) << e.what();
      EXPECT_EQ(std::string(e.what()).rfind("m.ir:" + std::to_string(c.line) + ":", 0), 0u) << e.what();
    }
  }
}

// Every prefix of a valid dump, and every single-character corruption of a short one, parses or
// fails with a ParseError: nothing else escapes (a bounded fuzz, beside the libFuzzer target).
TEST(Parser, TruncatedAndCorruptedTextNeverCrashes) {
  Tensor t = testing::RandomGraph(7).build();
  std::string text = dump_ir(t);
  for (size_t n = 0; n <= text.size(); ++n) {
    try {
      ir::parse_graph(text.substr(0, n));
    } catch (const ir::ParseError&) {
    }
  }
  const std::string alphabet = "%=,{}[]():/ 0123456789-.aefiuxz\n";
  for (size_t at = 0; at < text.size() && at < 400; ++at)
    for (char c : alphabet) {
      std::string bad = text;
      bad[at] = c;
      try {
        ir::parse_graph(bad);
      } catch (const ir::ParseError&) {
      }
    }
}

}  // namespace
}  // namespace kiln
