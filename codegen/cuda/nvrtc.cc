#include "codegen/cuda/nvrtc.h"

#include <dlfcn.h>

#include <mutex>
#include <stdexcept>
#include <vector>

namespace kiln::codegen::cuda {

namespace {

// The part of nvrtc.h Kiln uses (a C API: stable across versions).
using Program = struct NvrtcProgram*;
using Status = int;  // nvrtcResult; 0 is NVRTC_SUCCESS

struct Nvrtc {
  Status (*version)(int*, int*) = nullptr;
  Status (*create)(Program*, const char*, const char*, int, const char* const*, const char* const*) = nullptr;
  Status (*compile)(Program, int, const char* const*) = nullptr;
  Status (*log_size)(Program, size_t*) = nullptr;
  Status (*log)(Program, char*) = nullptr;
  Status (*ptx_size)(Program, size_t*) = nullptr;
  Status (*ptx)(Program, char*) = nullptr;
  Status (*cubin_size)(Program, size_t*) = nullptr;
  Status (*cubin)(Program, char*) = nullptr;
  Status (*destroy)(Program*) = nullptr;
  const char* (*error_string)(Status) = nullptr;
  Status (*num_archs)(int*) = nullptr;  // optional (NVRTC 11.2 and later)
  Status (*archs)(int*) = nullptr;
  std::string problem;  // empty when loaded
};

template <typename F> bool bind(void* lib, const char* symbol, F& f) {
  f = reinterpret_cast<F>(dlsym(lib, symbol));
  return f != nullptr;
}

Nvrtc load() {
  Nvrtc n;
  void* lib = nullptr;
  for (const char* path : {"libnvrtc.so.13", "/usr/local/cuda/lib64/libnvrtc.so.13", "libnvrtc.so",
                           "/usr/local/cuda/lib64/libnvrtc.so"})
    if ((lib = dlopen(path, RTLD_NOW | RTLD_LOCAL))) break;
  if (!lib) {
    n.problem = "NVRTC not found (libnvrtc.so.13 on the loader's path or in /usr/local/cuda/lib64)";
    return n;
  }
  bool ok = bind(lib, "nvrtcVersion", n.version) && bind(lib, "nvrtcCreateProgram", n.create) &&
            bind(lib, "nvrtcCompileProgram", n.compile) && bind(lib, "nvrtcGetProgramLogSize", n.log_size) &&
            bind(lib, "nvrtcGetProgramLog", n.log) && bind(lib, "nvrtcGetPTXSize", n.ptx_size) &&
            bind(lib, "nvrtcGetPTX", n.ptx) && bind(lib, "nvrtcGetCUBINSize", n.cubin_size) &&
            bind(lib, "nvrtcGetCUBIN", n.cubin) && bind(lib, "nvrtcDestroyProgram", n.destroy) &&
            bind(lib, "nvrtcGetErrorString", n.error_string);
  if (!ok) n.problem = "the NVRTC library found lacks a function Kiln calls";
  if (!bind(lib, "nvrtcGetNumSupportedArchs", n.num_archs) || !bind(lib, "nvrtcGetSupportedArchs", n.archs))
    n.num_archs = nullptr;
  return n;
}

const Nvrtc& nvrtc() {
  static const Nvrtc n = load();
  return n;
}

}  // namespace

bool nvrtc_available() { return nvrtc().problem.empty(); }
const std::string& nvrtc_problem() { return nvrtc().problem; }

std::string nvrtc_version() {
  int major = 0, minor = 0;
  if (!nvrtc_available() || nvrtc().version(&major, &minor) != 0) return "none";
  return std::to_string(major) + "." + std::to_string(minor);
}

std::vector<int> nvrtc_architectures() {
  const Nvrtc& n = nvrtc();
  int count = 0;
  if (!n.problem.empty() || !n.num_archs || n.num_archs(&count) != 0 || count <= 0) return {};
  std::vector<int> archs(static_cast<size_t>(count));
  if (n.archs(archs.data()) != 0) return {};
  return archs;
}

NvrtcResult nvrtc_compile(const std::string& source, const std::string& name, int arch, bool cubin) {
  const Nvrtc& n = nvrtc();
  if (!n.problem.empty()) throw std::runtime_error("cuda backend: " + n.problem);
  Program program = nullptr;
  std::string file = name + ".cu";
  if (Status s = n.create(&program, source.c_str(), file.c_str(), 0, nullptr, nullptr); s != 0)
    throw std::runtime_error(std::string("cuda backend: nvrtcCreateProgram: ") + n.error_string(s));
  std::string target = "--gpu-architecture=" + std::string(cubin ? "sm_" : "compute_") + std::to_string(arch);
  const char* options[] = {target.c_str(), "--std=c++17", "-default-device", "-lineinfo", "--fmad=false"};
  NvrtcResult result;
  result.ok = n.compile(program, static_cast<int>(std::size(options)), options) == 0;
  size_t size = 0;
  if (n.log_size(program, &size) == 0 && size > 1) {
    result.log.resize(size);
    n.log(program, result.log.data());
    result.log.resize(size - 1);  // the terminating NUL
  }
  if (result.ok) {
    auto get = [&](auto size_fn, auto fn) {
      size_t bytes = 0;
      if (size_fn(program, &bytes) != 0) return false;
      result.code.resize(bytes);
      return fn(program, result.code.data()) == 0;
    };
    result.ok = cubin ? get(n.cubin_size, n.cubin) : get(n.ptx_size, n.ptx);
    if (!cubin && !result.code.empty() && result.code.back() == '\0') result.code.pop_back();
  }
  n.destroy(&program);
  return result;
}

}  // namespace kiln::codegen::cuda
