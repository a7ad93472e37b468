// tools/kiln-opt run as a user runs it: each flag's output, passes in command-line order, the
// printing options, every --emit format, --run against the reference backend and .npy inputs,
// and errors for bad input files.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <sstream>
#include <vector>
#include <algorithm>
#include <cmath>
#include <sys/wait.h>

#include "kiln/kiln.h"
#include "kiln/serialize.h"

namespace {

struct Result {
  int exit_code = -1;
  std::string out;  // stdout, then stderr when asked for
};

std::string tmp(const std::string& name) {
  return std::string(std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp") + "/" + name;
}

// Runs `command` (a shell command line); stderr goes to the output when `with_stderr`.
Result run_shell(const std::string& command_line, bool with_stderr = false) {
  std::string command = command_line + (with_stderr ? " 2>&1" : " 2>/dev/null");
  Result r;
  FILE* p = popen(command.c_str(), "r");
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) r.out.append(buf, n);
  int status = pclose(p);
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  return r;
}

std::string binary() {
  return std::string(std::getenv("TEST_SRCDIR")) + "/" + std::getenv("TEST_WORKSPACE") + "/tools/kiln-opt";
}

// Runs kiln-opt with `args` (a shell word list).
Result kiln_opt(const std::string& args, bool with_stderr = false) { return run_shell(binary() + " " + args, with_stderr); }

std::string write(const std::string& name, const std::string& text) {
  std::string path = tmp(name);
  std::ofstream(path) << text;
  return path;
}

bool has(const std::string& text, const std::string& part) { return text.find(part) != std::string::npos; }

// y = exp(x * 2) summed over rows and multiplied by w; `%5` repeats `%4`, and `* 1` is foldable.
const std::string kGraph = R"(// graph0: evaluated for backward() at model.cc:20 (as recorded)
%0 = buffer : f32[4, 8]  loc(model.cc:3)
%1 = buffer {value=2.0} : f32[1, 1]  loc(model.cc:4)
%2 = expand %1 : f32[4, 8]  loc(model.cc:4)
%3 = mul %0, %2 : f32[4, 8]  loc(model.cc:4)
%4 = exp %3 : f32[4, 8]  loc(model.cc:5)
%5 = exp %3 : f32[4, 8]  loc(model.cc:6)
%6 = full {value=1.0} : f32[4, 8]  loc(model.cc:6)
%7 = mul %5, %6 : f32[4, 8]  loc(model.cc:6)
%8 = add %4, %7 : f32[4, 8]  loc(model.cc:7)
%9 = reduce_sum %8 {axes=[1]} : f32[4, 1]  loc(model.cc:8)  // in sum
%10 = buffer : f32[8, 3]  loc(model.cc:9)
%11 = matmul %8, %10 : f32[4, 3]  loc(model.cc:10)
return %9, %11
)";

TEST(KilnOpt, HelpListsEveryPassAndFormat) {
  Result r = kiln_opt("--help");
  EXPECT_EQ(r.exit_code, 0);
  for (const char* flag : {"--simplify", "--cse", "--autodiff", "--fuse", "--print-after-all", "--print-after", "--emit",
                           "--run", "--input", "--backend", "--no-fusion", "--time", "--reduce"})
    EXPECT_TRUE(has(r.out, flag)) << flag << "\n" << r.out;
  EXPECT_TRUE(has(r.out, "ir,kernels,llvm,asm,cuda,ptx,dot,svg,mlir")) << r.out;
}

TEST(KilnOpt, PrintsTheGraphBackAndRunsPassesInOrder) {
  std::string file = write("graph.kir", kGraph);
  Result same = kiln_opt(file);
  ASSERT_EQ(same.exit_code, 0);
  EXPECT_EQ(same.out, kGraph.substr(kGraph.find('\n') + 1));  // the header comment is not kept
  Result from_stdin = kiln_opt("- < " + file);
  EXPECT_EQ(from_stdin.out, same.out);
  // CSE alone merges the two exps but keeps * 1; simplify also folds it.
  Result cse = kiln_opt(file + " --cse");
  EXPECT_FALSE(has(cse.out, "%5 = exp")) << cse.out;
  EXPECT_TRUE(has(cse.out, "full {value=1.0}")) << cse.out;
  Result simplified = kiln_opt(file + " --simplify");
  EXPECT_FALSE(has(simplified.out, "full")) << simplified.out;
  // Autodiff appends d(sum of output 0)/d(input): 2 * 2 * exp(2x) after simplification.
  Result grad = kiln_opt(file + " --autodiff --simplify");
  std::string returned = grad.out.substr(grad.out.rfind("return"));
  EXPECT_EQ(std::count(returned.begin(), returned.end(), '%'), 3) << grad.out;  // outputs, then the gradient
  Result printed = kiln_opt(file + " --cse --print-after=cse --simplify", true);
  EXPECT_TRUE(has(printed.out, "IR Dump After cse")) << printed.out;
  EXPECT_FALSE(has(printed.out, "IR Dump After simplify")) << printed.out;
  Result all = kiln_opt(file + " --cse --simplify --fuse --print-after-all", true);
  for (const char* pass : {"After cse", "After simplify", "After fuse"}) EXPECT_TRUE(has(all.out, pass)) << all.out;
  EXPECT_LT(all.out.find("After cse"), all.out.find("After simplify"));
  Result timed = kiln_opt(file + " --simplify --time", true);
  EXPECT_TRUE(has(timed.out, "kiln-opt: simplify took")) << timed.out;
}

TEST(KilnOpt, EmitsEveryStage) {
  std::string file = write("graph.kir", kGraph);
  Result kernels = kiln_opt(file + " --simplify --emit=kernels");
  EXPECT_TRUE(has(kernels.out, "reduce_sum over inner")) << kernels.out;
  EXPECT_TRUE(has(kernels.out, "// extern matmul at model.cc:10")) << kernels.out;
  Result unfused = kiln_opt(file + " --simplify --no-fusion --emit=kernels");
  auto count = [](const std::string& s, const std::string& w) {
    size_t n = 0;
    for (size_t at = 0; (at = s.find(w, at)) != std::string::npos; ++at) ++n;
    return n;
  };
  EXPECT_GT(count(unfused.out, "kernel kiln_"), count(kernels.out, "kernel kiln_")) << unfused.out;
  EXPECT_TRUE(has(kernels.out, "= exp v2 : f32  loc(model.cc:5)")) << kernels.out;  // values keep their lines
  Result llvm = kiln_opt(file + " --simplify --emit=llvm --time", true);
  EXPECT_TRUE(has(llvm.out, "define void @kiln_")) << llvm.out;
  EXPECT_TRUE(has(llvm.out, ", !dbg !")) << llvm.out;  // debug locations: the user's lines
  EXPECT_TRUE(has(llvm.out, "!DILocation(line: 5, scope: ")) << llvm.out;
  EXPECT_TRUE(has(llvm.out, "!DIFile(filename: \"model.cc\"")) << llvm.out;
  EXPECT_TRUE(has(llvm.out, "kiln-opt: compiled kiln_")) << llvm.out;
  Result assembly = kiln_opt(file + " --simplify --emit=asm");
  EXPECT_TRUE(has(assembly.out, "kiln_")) << assembly.out;
  EXPECT_TRUE(has(assembly.out, "ret")) << assembly.out;
  EXPECT_TRUE(has(assembly.out, ".file\t1 \"model.cc\"")) << assembly.out;
  EXPECT_TRUE(has(assembly.out, ".loc\t1 5 0")) << assembly.out;
  Result cuda = kiln_opt(file + " --simplify --emit=cuda");
  EXPECT_TRUE(has(cuda.out, "extern \"C\" __global__")) << cuda.out;
  Result ptx = kiln_opt(file + " --simplify --emit=ptx --arch=80", true);
  if (ptx.exit_code == 0) EXPECT_TRUE(has(ptx.out, ".entry kiln_")) << ptx.out;
  else EXPECT_TRUE(has(ptx.out, "NVRTC")) << ptx.out;
  Result dot = kiln_opt(file + " --simplify --emit=dot");
  EXPECT_TRUE(has(dot.out, "digraph kiln")) << dot.out;
  EXPECT_TRUE(has(dot.out, "subgraph cluster_")) << dot.out;
  EXPECT_TRUE(has(dot.out, "label=\"extern matmul\"")) << dot.out;
  EXPECT_TRUE(has(dot.out, "model.cc:5")) << dot.out;  // each node's source line
  EXPECT_TRUE(has(dot.out, "[label=\"f32[4, 8]\"]")) << dot.out;  // edges carry the value's type
  Result svg = kiln_opt(file + " --simplify --emit=svg", true);
  if (svg.exit_code == 0) EXPECT_TRUE(has(svg.out, "<svg")) << svg.out.substr(0, 300);
  else EXPECT_TRUE(has(svg.out, "graphviz")) << svg.out;
  // MLIR: the inputs are arguments, the runtime scalar a constant, each op at its line; upstream
  // mlir-opt-19 reads it back (tests/mlir_export_test.cc runs such modules).
  Result mlir = kiln_opt(file + " --emit=mlir");
  EXPECT_TRUE(has(mlir.out, "func.func @graph(%arg0: tensor<4x8xf32> loc(")) << mlir.out;
  EXPECT_TRUE(has(mlir.out, "-> (tensor<4x1xf32>, tensor<4x3xf32>)")) << mlir.out;
  EXPECT_TRUE(has(mlir.out, "arith.constant dense<2.000000e+00> : tensor<1x1xf32>")) << mlir.out;
  EXPECT_TRUE(has(mlir.out, "math.exp")) << mlir.out;
  EXPECT_TRUE(has(mlir.out, "loc(\"model.cc\":5:0)")) << mlir.out;
  EXPECT_TRUE(has(mlir.out, "loc(\"sum\"(")) << mlir.out;  // the composite op, as a name location
  std::string mlir_file = write("graph.mlir", mlir.out);
  Result upstream = run_shell("mlir-opt-19 " + mlir_file);
  EXPECT_EQ(upstream.exit_code, 0) << upstream.out;
  EXPECT_TRUE(has(upstream.out, "linalg.generic")) << upstream.out;
}

// A KILN_DUMP=kernels file, or --emit=kernels output, reads back and compiles again.
TEST(KilnOpt, KernelIrFilesCompileAgain) {
  std::string file = write("graph.kir", kGraph);
  Result kernels = run_shell(binary() + " " + file + " --simplify --emit=kernels");
  ASSERT_EQ(kernels.exit_code, 0);
  std::string kernel_file = write("kernels.txt", kernels.out);
  Result same = kiln_opt(kernel_file);
  EXPECT_EQ(same.exit_code, 0);
  EXPECT_EQ(same.out, kernels.out.substr(kernels.out.find("kernel ")).substr(0, same.out.size()));
  EXPECT_TRUE(has(same.out, "reduce_sum over inner")) << same.out;
  Result llvm = kiln_opt(kernel_file + " --emit=llvm");
  EXPECT_TRUE(has(llvm.out, "define void @kiln_")) << llvm.out;
  Result cuda = kiln_opt(kernel_file + " --emit=cuda");
  EXPECT_TRUE(has(cuda.out, "extern \"C\" __global__")) << cuda.out;
  Result pass = kiln_opt(kernel_file + " --simplify", true);
  EXPECT_EQ(pass.exit_code, 1);
  EXPECT_TRUE(has(pass.out, "holds kernel IR: passes and --run need a graph")) << pass.out;
  Result bad = kiln_opt(write("bad.txt", "kernel k(a0: f32[4])\n  outer [4]  inner []\n  v0 = load a0[i7] : f32\n"), true);
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_TRUE(has(bad.out, "bad.txt:3:16: i7 is not a loop variable")) << bad.out;
}

// --reduce keeps the smallest graph for which the test still exits 0, as llvm-reduce does: here
// "the graph still has an exp", which leaves the exp of an input and the one output reading it.
TEST(KilnOpt, ReduceMinimizesWhileTheTestHolds) {
  std::string file = write("graph.kir", kGraph);
  std::string test = write("has_exp.sh", "grep -q ' = exp ' \"$1\"\n");
  Result reduced = kiln_opt(file + " --reduce='bash " + test + "'");
  ASSERT_EQ(reduced.exit_code, 0);
  EXPECT_EQ(reduced.out, "%0 = buffer : f32[4, 8]  loc(model.cc:4)\n"
                         "%1 = exp %0 : f32[4, 8]  loc(model.cc:5)\n"
                         "%2 = buffer : f32[8, 3]  loc(model.cc:9)\n"
                         "%3 = matmul %1, %2 : f32[4, 3]  loc(model.cc:10)\n"
                         "return %3\n");
  Result log = kiln_opt(file + " --reduce='bash " + test + "' --emit=kernels", true);
  EXPECT_TRUE(has(log.out, "kiln-opt: reduced 12 nodes to 4 in")) << log.out;
  EXPECT_TRUE(has(log.out, "kernel kiln_")) << log.out;  // the reduced graph goes on to --emit
  Result never = kiln_opt(file + " --reduce=false", true);
  EXPECT_EQ(never.exit_code, 1);
  EXPECT_TRUE(has(never.out, "the test does not hold for the input graph")) << never.out;
}

TEST(KilnOpt, RunEvaluatesWithSeededOrNpyInputs) {
  std::string file = write("graph.kir", kGraph);
  Result jit = kiln_opt(file + " --run --seed 4");
  Result reference = kiln_opt(file + " --run --seed 4 --backend=reference");
  ASSERT_EQ(jit.exit_code, 0);
  EXPECT_TRUE(has(jit.out, "output 0: f32[4, 1] =")) << jit.out;
  EXPECT_EQ(kiln_opt(file + " --run --seed 4").out, jit.out);  // seeded: the same inputs
  EXPECT_NE(kiln_opt(file + " --run --seed 5").out, jit.out);
  // JIT and reference agree to float32 rounding: compare output 1's values.
  auto values = [](const std::string& out) {
    std::vector<double> v;
    std::string line = out.substr(out.find("output 1:"));
    std::istringstream in(line.substr(line.find('=') + 1));
    for (double x; in >> x;) v.push_back(x);
    return v;
  };
  std::vector<double> a = values(jit.out), b = values(reference.out);
  ASSERT_EQ(a.size(), 12u);
  ASSERT_EQ(b.size(), 12u);
  for (size_t i = 0; i < a.size(); ++i) EXPECT_NEAR(a[i], b[i], 1e-4 * (1 + std::fabs(b[i])));
  // Inputs from .npy files: x = 0, w = 1 give exp(0) + exp(0) = 2 per element, summed over 8.
  kiln::save_npy(kiln::zeros({4, 8}), tmp("x.npy"));
  kiln::save_npy(kiln::ones({8, 3}), tmp("w.npy"));
  Result npy = kiln_opt(file + " --run --input " + tmp("x.npy") + " --input " + tmp("w.npy"));
  EXPECT_TRUE(has(npy.out, "output 0: f32[4, 1] = 16 16 16 16")) << npy.out;
  EXPECT_TRUE(has(npy.out, "output 1: f32[4, 3] = 16 16 16")) << npy.out;
  // The gradient --autodiff appends: d/dx of sum(exp(2x) + exp(2x)) is 4 exp(2x) = 4 at x = 0.
  Result grad = kiln_opt(file + " --autodiff --simplify --run --input " + tmp("x.npy") + " --input " + tmp("w.npy"));
  EXPECT_TRUE(has(grad.out, "output 2: f32[4, 8] = 4 4 4 4 4 4 4 4")) << grad.out;
  Result wrong = kiln_opt(file + " --run --input " + tmp("w.npy"), true);
  EXPECT_EQ(wrong.exit_code, 1);
  EXPECT_TRUE(has(wrong.out, "input 0 is f32[4, 8]")) << wrong.out;
}

TEST(KilnOpt, BadInputFilesAreErrorsWithTheirPosition) {
  std::string bad = write("bad.kir", "%0 = iota {value=0, delta=1} : f32[4]  loc(m.cc:1)\n%1 = exp %9 : f32[4]  loc(m.cc:2)\n");
  Result r = kiln_opt(bad, true);
  EXPECT_EQ(r.exit_code, 1);
  EXPECT_TRUE(has(r.out, bad + ":2:11: %9 is not defined above")) << r.out;
  Result missing = kiln_opt(tmp("no-such-file.kir"), true);
  EXPECT_EQ(missing.exit_code, 1);
  EXPECT_TRUE(has(missing.out, "cannot read")) << missing.out;
  Result flag = kiln_opt(write("graph.kir", kGraph) + " --emit=pdf", true);
  EXPECT_NE(flag.exit_code, 0);
  EXPECT_TRUE(has(flag.out, "pdf")) << flag.out;
}

}  // namespace
