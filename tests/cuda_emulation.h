// Generated CUDA C run on the host: each kernel's source compiled as host C++ (g++) with a header
// that emulates a grid of one block of one thread (the grid-stride and block-stride loops then
// cover every point, shuffles find no partner, barriers are no-ops). cuda_emulation_test runs
// fusion plans with these kernels; the fake driver (tests/fake_cuda) launches them for
// cuda_backend_test.
#pragma once

#include <dlfcn.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <vector>

#include "codegen/cuda/render.h"
#include "codegen/lower.h"

namespace kiln::testing {

// What the CUDA built-ins mean for one block of one thread, in host C++.
inline constexpr const char* kEmulation = R"(#include <cmath>
#include <cstring>
struct KilnDim { unsigned x; };
struct float4 { float x, y, z, w; };
struct int4 { int x, y, z, w; };
static const KilnDim blockIdx{0}, threadIdx{0}, blockDim{1}, gridDim{1};
#define __global__
#define __device__
#define __forceinline__ inline
#define __restrict__ __restrict
#define __launch_bounds__(...)
#define __shared__ static
inline void __syncthreads() {}
inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline float __uint_as_float(unsigned i) { float f; std::memcpy(&f, &i, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned i; std::memcpy(&i, &f, 4); return i; }
inline double __longlong_as_double(long long i) { double d; std::memcpy(&d, &i, 8); return d; }
template <typename T> T __shfl_down_sync(unsigned, T v, int) { return v; }
using std::isnan;
)";

// A launcher beside each kernel: NAME_launch(params) calls it with cuLaunchKernel's parameter
// array (codegen::cuda::kernel_params): each entry points at one parameter's value.
inline std::string launcher(const codegen::Kernel& k) {
  std::string call = "extern \"C\" void " + k.name + "_launch(void** p) { " + k.name + "(";
  for (size_t i = 0; i < k.args.size(); ++i) {
    std::string type = codegen::cuda::c_type(k.args[i].dtype);
    if (k.args[i].by_value) type = "KilnValues<" + type + ", " + std::to_string(k.args[i].numel) + ">";
    else type = (k.args[i].output ? "" : "const ") + type + "*";
    call += "*(" + type + "*)p[" + std::to_string(i) + "], ";
  }
  return call + "*(long long*)p[" + std::to_string(k.args.size()) + "]); }\n";
}

// The kernels compiled into one shared library, each in a namespace of its own.
class EmulatedKernels {
 public:
  explicit EmulatedKernels(const std::vector<codegen::Kernel>& kernels) {
    std::string dir = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";
    static int libraries = 0;  // each its own file: dlopen gives a loaded path's old handle
    std::string base = dir + "/emulated_kernels" + std::to_string(libraries++);
    std::string source = base + ".cc", library = base + ".so";
    std::ofstream out(source);
    out << kEmulation;
    for (size_t i = 0; i < kernels.size(); ++i)
      out << "namespace k" << i << " {\n" << codegen::cuda::render(kernels[i]).code << launcher(kernels[i]) << "}\n";
    out.close();
    std::string command = "g++ -std=c++17 -O1 -ffp-contract=off -fPIC -shared -w -o " + library + " " + source + " 2>&1";
    if (FILE* p = popen(command.c_str(), "r")) {
      char buf[512];
      while (fgets(buf, sizeof buf, p)) log_ += buf;
      if (pclose(p) != 0) return;
    }
    handle_ = dlopen(library.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (!handle_) log_ += dlerror();
  }
  ~EmulatedKernels() {
    if (handle_) dlclose(handle_);
  }
  bool ok() const { return handle_ != nullptr; }
  const std::string& log() const { return log_; }

  using Launch = void (*)(void** params);
  // Kernel `name`'s launcher, taking cuLaunchKernel's parameter array; null if it is not here.
  Launch launcher_of(const std::string& name) const {
    return reinterpret_cast<Launch>(dlsym(handle_, (name + "_launch").c_str()));
  }

  void run(const codegen::LoweredKernel& k, void** args) const {
    Launch launch = launcher_of(k.kernel.name);
    ASSERT_NE(launch, nullptr) << k.kernel.name;
    int64_t extent = k.extent;
    launch(codegen::cuda::kernel_params(k.kernel, args, &extent).data());
  }

 private:
  void* handle_ = nullptr;
  std::string log_;
};

}  // namespace kiln::testing
