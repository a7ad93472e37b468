#include "tools/kiln_opt/emit.h"

#include <chrono>
#include <cstdio>
#include <cstdlib>  // mkstemp
#include <filesystem>
#include <stdexcept>

#include "codegen/cpu/compiler.h"
#include "codegen/cuda/nvrtc.h"
#include "codegen/cuda/render.h"
#include "codegen/mlir/export.h"
#include "ir/printer.h"

namespace kiln::tools {

namespace {

std::vector<const ir::Node*> roots_of(const Module& m) {
  std::vector<const ir::Node*> roots;
  for (const ir::NodePtr& o : m.outputs) roots.push_back(o.get());
  return roots;
}

// Calls f(group, lowered kernel or null) for each step of the plan, in order.
template <typename F> void for_each_step(const Module::Plan& plan, F f) {
  for (size_t i = 0; i < plan.fusion.groups.size(); ++i)
    f(plan.fusion.groups[i], plan.kernels[i] ? &*plan.kernels[i] : nullptr);
}

// One kernel as kernels, llvm, asm, cuda or ptx text; the CUDA preamble only before the first.
void emit_kernel(const codegen::Kernel& k, const std::string& format, const EmitOptions& o, bool& preamble_written,
                 std::ostream& out) {
  if (format == "kernels") {
    out << codegen::print_kernel(k);
  } else if (format == "llvm" || format == "asm") {
    auto t0 = std::chrono::steady_clock::now();
    codegen::cpu::CompiledKernel c = codegen::cpu::Compiler::instance().compile(k, /*want_text=*/true);
    if (o.time)
      std::fprintf(stderr, "kiln-opt: compiled %s in %.2f ms\n", k.name.c_str(),
                   std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    out << (format == "llvm" ? c.text.llvm_ir : c.text.assembly);
  } else if (format == "cuda") {
    std::string code = codegen::cuda::render(k).code;
    out << (preamble_written ? code.substr(code.find("extern \"C\"")) : code) << "\n";
    preamble_written = true;
  } else if (format == "ptx") {
    codegen::cuda::KernelSource src = codegen::cuda::render(k);
    auto t0 = std::chrono::steady_clock::now();
    codegen::cuda::NvrtcResult r = codegen::cuda::nvrtc_compile(src.code, src.name, o.arch, /*cubin=*/false);
    if (o.time)
      std::fprintf(stderr, "kiln-opt: NVRTC compiled %s in %.2f ms\n", src.name.c_str(),
                   std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    if (!r.ok) throw std::runtime_error("NVRTC failed on " + src.name + ":\n" + r.log);
    out << r.code;
  } else {
    throw std::runtime_error("--emit=" + format + " needs a graph, not kernel IR");
  }
}

void emit_kernel_text(const Module::Plan& plan, const std::string& format, const EmitOptions& o, std::ostream& out) {
  bool preamble_written = false;
  for_each_step(plan, [&](const passes::FusedGroup& g, const codegen::LoweredKernel* k) {
    if (!k) {
      out << (g.kind == passes::FusedGroup::Alias ? "// alias " : "// extern ") << ir::op_name(g.root->op) << " at "
          << g.root->loc.str() << "\n";
      return;
    }
    emit_kernel(k->kernel, format, o, preamble_written, out);
  });
}

}  // namespace

const std::vector<std::string>& emit_formats() {
  static const std::vector<std::string> formats = {"ir", "kernels", "llvm", "asm", "cuda", "ptx", "dot", "svg", "mlir"};
  return formats;
}

void emit_kernels(const std::vector<codegen::Kernel>& kernels, const std::string& format, const EmitOptions& o,
                  std::ostream& out) {
  if (format == "ptx" && !codegen::cuda::nvrtc_available()) throw std::runtime_error(codegen::cuda::nvrtc_problem());
  bool preamble_written = false;
  for (const codegen::Kernel& k : kernels) emit_kernel(k, format, o, preamble_written, out);
}

void emit(const Module& m, const std::string& format, const EmitOptions& o, std::ostream& out) {
  if (format == "ir") {
    out << ir::print_graph(roots_of(m));
    return;
  }
  if (format == "mlir") {
    out << codegen::mlir::export_module({{"graph", m.outputs}});
    return;
  }
  if (format == "ptx" && !codegen::cuda::nvrtc_available()) throw std::runtime_error(codegen::cuda::nvrtc_problem());
  Module::Plan plan = m.plan ? *m.plan : plan_module(m, o.fuse);
  if (format == "dot") {
    out << graph_dot(m, plan);
  } else if (format == "svg") {
    std::string dot = graph_dot(m, plan);
    // dot reads a file: the DOT text goes to a fresh one in the temporary directory ($TMPDIR);
    // the trailing XXXXXX is mkstemp's template, which it replaces with a unique suffix.
    std::string path = (std::filesystem::temp_directory_path() / "kiln-opt-XXXXXX").string();
    int fd = mkstemp(path.data());
    if (fd < 0) throw std::runtime_error("cannot make a temporary file for dot");
    FILE* f = fdopen(fd, "w");
    std::fwrite(dot.data(), 1, dot.size(), f);
    std::fclose(f);
    std::string command = "dot -Tsvg " + path + " 2>&1";
    std::string svg;
    FILE* p = popen(command.c_str(), "r");
    char buf[4096];
    size_t n;
    while (p && (n = std::fread(buf, 1, sizeof buf, p)) > 0) svg.append(buf, n);
    int status = p ? pclose(p) : -1;
    std::remove(path.c_str());
    if (status != 0) throw std::runtime_error("Graphviz's dot failed (is graphviz installed?): " + svg);
    out << svg;
  } else {
    emit_kernel_text(plan, format, o, out);
  }
}

}  // namespace kiln::tools
