// KILN_DUMP writes every stage of an evaluation, each pointing back to the user's source line.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/child_process.h"

namespace {

namespace fs = std::filesystem;

std::string read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::vector<fs::path> files_ending(const fs::path& dir, const std::string& suffix) {
  std::vector<fs::path> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    std::string name = e.path().filename().string();
    if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
      out.push_back(e.path());
  }
  return out;
}

TEST(Dump, WritesEveryStageWithSourceLocations) {
  fs::path dir = fs::temp_directory_path() / ("kiln_dump_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto result = kiln::testing::run_env_probe(
      "", {{"KILN_DUMP", "graph,fused,kernels,llvm,asm"}, {"KILN_DUMP_DIR", dir.string()}}, "dump_probe");
  ASSERT_EQ(result.exit_code, 0) << result.out;
  EXPECT_EQ(result.out, "1\n");  // softmax of a scaled input: one fused kernel

  std::string recorded = read(dir / "graph0.ir");
  // Each dumped graph says why it was evaluated, and where.
  EXPECT_EQ(recorded.rfind("// graph0: evaluated for eval() at tests/dump_probe.cc:17", 0), 0u) << recorded;
  EXPECT_NE(recorded.find("reduce_max"), std::string::npos) << recorded;
  EXPECT_NE(recorded.find("// in softmax"), std::string::npos) << recorded;
  EXPECT_NE(recorded.find("dump_probe.cc:16)"), std::string::npos) << recorded;
  std::string simplified = read(dir / "graph0.after.ir");
  EXPECT_EQ(simplified.rfind("// graph0: evaluated for eval() at tests/dump_probe.cc:17 (after simplification)\n", 0), 0u)
      << simplified;
  EXPECT_NE(simplified.find("buffer {value=0.25} : f32[1, 1]  loc(tests/dump_probe.cc:16)"), std::string::npos)
      << simplified;
  EXPECT_NE(simplified.find(" = exp %"), std::string::npos) << simplified;
  EXPECT_NE(simplified.find("\nreturn %"), std::string::npos) << simplified;
  std::string fused = read(dir / "graph0.fused.txt");
  std::string header = "// graph0: evaluated for eval() at tests/dump_probe.cc:17; %N are the nodes of graph0.after.ir\n";
  ASSERT_EQ(fused.rfind(header, 0), 0u) << fused;
  fused = fused.substr(header.size());
  EXPECT_EQ(fused.rfind("kernel kiln_", 0), 0u) << fused;
  // Each argument: the node it holds and the line that recorded it.
  EXPECT_NE(fused.find("  a0 = %1 buffer  loc(tests/dump_probe.cc:16)"), std::string::npos) << fused;  // x * 0.25: the scalar
  EXPECT_NE(fused.find(" (out) = %"), std::string::npos) << fused;
  EXPECT_NE(fused.find("exp  loc("), std::string::npos) << fused;
  EXPECT_NE(fused.find("dump_probe.cc:16)"), std::string::npos) << fused;

  // The kernel named in the grouping has its kernel IR, LLVM IR and assembly.
  std::string name = fused.substr(7, fused.find(' ', 7) - 7);
  std::string kernel = read(dir / (name + ".kernel.txt"));
  EXPECT_NE(kernel.find("reduce_max over inner"), std::string::npos) << kernel;
  EXPECT_NE(kernel.find("reduce_sum over inner"), std::string::npos) << kernel;
  EXPECT_NE(read(dir / (name + ".ll")).find("define"), std::string::npos);
  std::string assembly = read(dir / (name + ".s"));
  EXPECT_NE(assembly.find("mm"), std::string::npos) << "expected vector registers";
  EXPECT_EQ(files_ending(dir, ".kernel.txt").size(), 1u);
  fs::remove_all(dir);
}

TEST(Dump, BackwardGraphTagsEachGradientNodeWithItsForwardNode) {
  fs::path dir = fs::temp_directory_path() / ("kiln_dump_backward_test_" + std::to_string(getpid()));
  fs::create_directories(dir);
  auto result =
      kiln::testing::run_env_probe("backward", {{"KILN_DUMP", "backward"}, {"KILN_DUMP_DIR", dir.string()}}, "dump_probe");
  ASSERT_EQ(result.exit_code, 0) << result.out;
  std::string text = read(dir / "backward0.ir");
  // Forward: %0 = the ones (the variable), %1 = tanh, ...
  EXPECT_NE(text.find("= tanh %0"), std::string::npos) << text;
  // tanh's rule: g * (1 - out * out), tagged with the tanh node and the user's line.
  EXPECT_NE(text.find("// grad of %1 tanh at tests/dump_probe.cc:12"), std::string::npos) << text;
  EXPECT_NE(text.find("// grad of %5 reduce_sum at tests/dump_probe.cc:12"), std::string::npos) << text;
  EXPECT_EQ(text.find("// grad of ?"), std::string::npos) << text;
  EXPECT_TRUE(files_ending(dir, ".ir").size() == 1u);  // only the backward stage was asked for
  fs::remove_all(dir);
}

// KILN_LOG=compile prints each schedule's graph with why it was evaluated, and for each kernel
// compiled the op and the user's line it computes.
TEST(Dump, LogCompileNamesTheCauseTheGraphAndTheUsersLine) {
  auto result = kiln::testing::run_env_probe("", {{"KILN_LOG", "compile"}}, "dump_probe", /*with_stderr=*/true);
  ASSERT_EQ(result.exit_code, 0) << result.out;
  EXPECT_NE(result.out.find("kiln: scheduling a graph evaluated for eval() at tests/dump_probe.cc:17:"), std::string::npos)
      << result.out;
  EXPECT_NE(result.out.find("= reduce_max"), std::string::npos) << result.out;
  EXPECT_NE(result.out.find("(softmax at tests/dump_probe.cc:16) for cpu"), std::string::npos) << result.out;
}

}  // namespace
