// KILN_DUMP writes every stage of an evaluation, each pointing back to the user's source line,
// and a manifest of what it wrote.
#include <gtest/gtest.h>

#include <filesystem>
#include <cstdio>
#include <fstream>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "codegen/kernel_parser.h"
#include "ir/parser.h"
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

// Runs tools/kiln-opt in `dir` with `args`; its stdout.
std::string run_kiln_opt(const fs::path& dir, const std::string& args) {
  std::string binary = std::string(std::getenv("TEST_SRCDIR")) + "/" + std::getenv("TEST_WORKSPACE") + "/tools/kiln-opt";
  std::string command = "cd " + dir.string() + " && " + binary + " " + args;
  std::string out;
  FILE* p = popen(command.c_str(), "r");
  char buf[4096];
  size_t n;
  while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  if (p) pclose(p);
  return out;
}

// KILN_DUMP=all writes each graph compiled once (every evaluation with `every`), and a manifest
// whose entries name files that exist and read back (graphs and kernels).
TEST(Dump, AllWritesEachCompiledGraphOnceWithAManifestOfReadableFiles) {
  for (bool every : {false, true}) {
    fs::path dir = fs::temp_directory_path() / ("kiln_dump_all_test_" + std::to_string(getpid()) + (every ? "e" : ""));
    fs::create_directories(dir);
    auto result = kiln::testing::run_env_probe(
        "steps", {{"KILN_DUMP", every ? "all,every" : "all"}, {"KILN_DUMP_DIR", dir.string()}}, "dump_probe");
    ASSERT_EQ(result.exit_code, 0) << result.out;
    std::ifstream manifest(dir / "manifest.jsonl");
    int graphs = 0, backwards = 0, kernels = 0;
    for (std::string line; std::getline(manifest, line);) {
      nlohmann::json entry = nlohmann::json::parse(line);
      for (const auto& [stage, file] : entry["files"].items()) {
        std::string text = read(dir / file.get<std::string>());
        ASSERT_FALSE(text.empty()) << file;
        if (stage != "fused") EXPECT_NO_THROW(kiln::ir::parse_graph(text, file)) << file;
      }
      if (entry.contains("graph")) {
        ++graphs;
        EXPECT_EQ(entry["replay"], "kiln-opt " + entry["graph"].get<std::string>() + ".ir --simplify --fuse --emit=kernels");
        // Replayed by kiln-opt, the recorded graph gives the kernels the evaluation ran.
        std::string replayed = run_kiln_opt(dir, entry["replay"].get<std::string>().substr(9));
        std::set<std::string> ran, replay;
        for (const nlohmann::json& k : entry["kernels"]) ran.insert(k["name"].get<std::string>());
        for (size_t at = 0; (at = replayed.find("kernel kiln_", at)) != std::string::npos; at += 7)
          replay.insert(replayed.substr(at + 7, 21));
        EXPECT_EQ(replay, ran) << line << "\n" << replayed;
        EXPECT_NE(entry["cause"].get<std::string>().find("tests/dump_probe.cc:"), std::string::npos) << line;
        for (const nlohmann::json& k : entry["kernels"]) {
          ++kernels;
          EXPECT_EQ(kiln::codegen::parse_kernels(read(dir / k["kernel_ir"].get<std::string>())).size(), 1u) << line;
          EXPECT_NE(read(dir / k["llvm"].get<std::string>()).find("define"), std::string::npos) << line;
          EXPECT_FALSE(read(dir / k["asm"].get<std::string>()).empty()) << line;
        }
      } else {
        ASSERT_TRUE(entry.contains("backward")) << line;
        ++backwards;
      }
    }
    // Compiled: the probe's first softmax, the steps' softmax (three evaluations of one schedule:
    // the later two are dumped only with `every`) and the backward step.
    EXPECT_EQ(graphs, every ? 5 : 3);
    EXPECT_EQ(backwards, 1);
    EXPECT_GT(kernels, 1);
    fs::remove_all(dir);
  }
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
