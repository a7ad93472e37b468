// kiln-opt: reads Kiln's textual IR (a KILN_DUMP=graph file, `kiln::dump_ir` output, or stdin),
// runs the passes named on the command line in their order, and prints the result in the
// format --emit names, or with --run evaluates it and prints the outputs. Kernel IR (a
// KILN_DUMP=kernels .kernel.txt) is read too, and compiled again for --emit=llvm|asm|cuda|ptx.
// In the style of LLVM's opt and MLIR's mlir-opt; docs/DEBUGGING.md walks through a session.
#include <CLI/CLI.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

#include "codegen/kernel_parser.h"
#include "ir/parser.h"
#include "ir/philox.h"
#include "ir/printer.h"
#include "kiln/kiln.h"
#include "kiln/serialize.h"
#include "runtime/executor.h"
#include "runtime/reference_executor.h"
#include "tools/kiln_opt/emit.h"
#include "tools/kiln_opt/passes.h"
#include "tools/kiln_opt/reduce.h"

namespace {

using kiln::tools::Module;

std::string read_input(const std::string& path) {
  std::ostringstream text;
  if (path == "-") {
    text << std::cin.rdbuf();
  } else {
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    text << in.rdbuf();
  }
  return text.str();
}

// Whether `text` is kernel IR (a .kernel.txt dump, `--emit=kernels` output) rather than a graph:
// its first line that is not blank or a comment starts with `kernel `.
bool is_kernel_ir(const std::string& text) {
  std::istringstream lines(text);
  for (std::string line; std::getline(lines, line);) {
    size_t start = line.find_first_not_of(" \t\r");
    if (start == std::string::npos || line.compare(start, 2, "//") == 0) continue;
    return line.compare(start, 7, "kernel ") == 0;
  }
  return false;
}

template <typename Flags>
bool pass_flags_given(const CLI::App& app, const Flags& flags) {
  for (const auto& [option, pass] : flags)
    if (option->count() > 0) return true;
  return false;
}

// Input i gets values: from the i-th --input .npy file, else seeded normal (floating) or small
// integer values, element j the Philox draw (seed, j, i).
void fill_inputs(const Module& m, const std::vector<std::string>& npy, uint64_t seed) {
  for (size_t i = 0; i < m.inputs.size(); ++i) {
    kiln::ir::Node& in = *m.inputs[i];
    if (i < npy.size()) {
      kiln::Tensor t = kiln::load_npy(npy[i]).contiguous();
      t.eval();
      if (t.sizes() != in.shape || t.dtype() != in.dtype)
        throw std::runtime_error(npy[i] + " holds " + std::string(kiln::dtype_short_name(t.dtype())) +
                                 kiln::shape_str(t.sizes()) + ", input " + std::to_string(i) + " is " +
                                 std::string(kiln::dtype_short_name(in.dtype)) + kiln::shape_str(in.shape));
      std::memcpy(in.storage->data(), t.node()->storage->data(), in.storage->bytes());
      continue;
    }
    kiln::dispatch_dtype(in.dtype, [&]<typename T>() {
      T* data = static_cast<T*>(in.storage->data());
      for (int64_t j = 0; j < in.numel(); ++j) {
        double v = kiln::ir::philox_normal<double>(seed, static_cast<uint64_t>(j), i);
        data[j] = kiln::is_floating(in.dtype) ? static_cast<T>(v) : static_cast<T>(std::llround(std::fabs(v) * 3));
      }
    });
  }
}

void print_outputs(const Module& m) {
  for (size_t i = 0; i < m.outputs.size(); ++i) {
    const kiln::ir::Node& n = *m.outputs[i];
    std::printf("output %zu: %s%s =", i, std::string(kiln::dtype_short_name(n.dtype)).c_str(),
                kiln::shape_str(n.shape).c_str());
    kiln::dispatch_dtype(n.dtype, [&]<typename T>() {
      for (int64_t j = 0; j < n.numel(); ++j) std::printf(" %.9g", static_cast<double>(n.data<T>()[j]));
    });
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"kiln-opt: reads Kiln's textual IR, runs the passes given in order, prints the result"};
  std::string input = "-";
  app.add_option("input", input, "a .kir file (a KILN_DUMP=graph dump), or - for stdin");
  std::map<const CLI::Option*, const kiln::tools::Pass*> pass_flags;
  std::vector<std::string> pass_names;
  for (const kiln::tools::Pass& p : kiln::tools::all_passes()) {
    pass_flags[app.add_flag("--" + p.name, p.help)->group("Passes (run in the order given)")] = &p;
    pass_names.push_back(p.name);
  }
  bool print_after_all = false, run = false, no_fusion = false, time = false;
  std::vector<std::string> print_after, npy;
  std::string format = "ir", backend = "jit";
  uint64_t seed = 0;
  int arch = 90;
  app.add_flag("--print-after-all", print_after_all, "print the IR after every pass (to stderr)");
  app.add_option("--print-after", print_after, "print the IR after this pass (to stderr)")
      ->check(CLI::IsMember(pass_names));
  auto* emit_option = app.add_option("--emit", format, "what to print")->check(CLI::IsMember(kiln::tools::emit_formats()));
  app.add_flag("--run", run, "evaluate the graph and print its outputs (inputs from --input, else seeded)");
  app.add_option("--input", npy, "a .npy file per input buffer, in order (with --run)")->check(CLI::ExistingFile);
  app.add_option("--seed", seed, "seed of the generated inputs (with --run)");
  app.add_option("--backend", backend, "jit or reference (with --run)")->check(CLI::IsMember({"jit", "reference"}));
  app.add_flag("--no-fusion", no_fusion, "one kernel per primitive");
  app.add_flag("--time", time, "each pass's time and each kernel's compile time, on stderr");
  app.add_option("--arch", arch, "compute capability for --emit=ptx (80 for sm_80)");
  std::string reduce_test;
  app.add_option("--reduce", reduce_test,
                 "after the passes, minimize the graph while TEST (a shell command given the graph's file) exits 0");
  CLI11_PARSE(app, argc, argv);

  try {
    std::string text = read_input(input), source = input == "-" ? "<stdin>" : input;
    if (is_kernel_ir(text)) {
      if (!pass_flags_given(app, pass_flags) && !run) {
        kiln::tools::emit_kernels(kiln::codegen::parse_kernels(text, source), format == "ir" ? "kernels" : format,
                                  {!no_fusion, arch, time}, std::cout);
        return 0;
      }
      throw std::runtime_error(source + " holds kernel IR: passes and --run need a graph");
    }
    kiln::ir::ParsedGraph parsed = kiln::ir::parse_graph(text, source);
    Module m{parsed.outputs, parsed.inputs, std::nullopt};
    for (const CLI::Option* o : app.parse_order()) {
      auto it = pass_flags.find(o);
      if (it == pass_flags.end()) continue;
      const kiln::tools::Pass& pass = *it->second;
      auto t0 = std::chrono::steady_clock::now();
      pass.run(m, !no_fusion);
      if (pass.name != "fuse") m.plan.reset();  // the graph changed: a plan is made again
      if (time)
        std::fprintf(stderr, "kiln-opt: %s took %.3f ms\n", pass.name.c_str(),
                     std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
      if (print_after_all || std::find(print_after.begin(), print_after.end(), pass.name) != print_after.end()) {
        std::ostringstream text;
        kiln::tools::emit(m, pass.name == "fuse" ? "kernels" : "ir", {!no_fusion, arch, false}, text);
        std::fprintf(stderr, "// -----// IR Dump After %s //----- //\n%s", pass.name.c_str(), text.str().c_str());
      }
    }
    if (!reduce_test.empty()) {
      kiln::ir::ParsedGraph reduced = kiln::ir::parse_graph(kiln::tools::reduce(m, reduce_test, std::cerr), "reduced");
      m = Module{reduced.outputs, reduced.inputs, std::nullopt};
    }
    if (!run || emit_option->count() > 0) kiln::tools::emit(m, format, {!no_fusion, arch, time}, std::cout);
    if (run) {
      fill_inputs(m, npy, seed);
      if (backend == "reference") kiln::runtime::evaluate_reference(m.outputs);
      else kiln::runtime::execute(m.outputs, {!no_fusion, true});
      print_outputs(m);
    }
  } catch (const kiln::ir::ParseError& e) {
    std::fprintf(stderr, "kiln-opt: %s\n", e.what());
    return 1;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "kiln-opt: error: %s\n", e.what());
    return 1;
  }
  return 0;
}
