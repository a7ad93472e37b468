#include "runtime/cuda/kernel_image.h"

#include <algorithm>
#include <vector>

#include "codegen/cuda/nvrtc.h"
#include "codegen/cuda/render.h"
#include "ir/error.h"
#include "runtime/compile_cache.h"

namespace kiln::runtime::cuda {

namespace {

// What this NVRTC compiles for `arch`: {arch, true} for a CUBIN, else {the newest lower
// architecture it has, false} for PTX (and {arch, false} when NVRTC does not list its targets).
std::pair<int, bool> target_for(int arch) {
  std::vector<int> archs = codegen::cuda::nvrtc_architectures();
  if (std::find(archs.begin(), archs.end(), arch) != archs.end()) return {arch, true};
  int below = 0;
  for (int a : archs)
    if (a < arch) below = a;
  return {below ? below : arch, false};
}

}  // namespace

KernelImage compile_kernel_image(const codegen::Kernel& k, int arch) {
  if (!codegen::cuda::nvrtc_available())
    throw Error("cuda", "cannot compile " + k.name + ": " + codegen::cuda::nvrtc_problem(), {});
  static const CompileCache cache("cuda");
  auto [target, cubin] = target_for(arch);
  KernelImage image{codegen::cuda::render(k), "", cubin, target, false};
  const codegen::cuda::KernelSource& source = image.source;
  std::string key = "kiln cuda image\nNVRTC " + codegen::cuda::nvrtc_version() + "\n" + (cubin ? "sm_" : "compute_") +
                    std::to_string(target) + "\n" + source.code;
  if (std::optional<std::string> stored = cache.load(key)) {
    image.image = std::move(*stored);
    image.loaded = true;
    return image;
  }
  codegen::cuda::NvrtcResult r = codegen::cuda::nvrtc_compile(source.code, source.name, target, cubin);
  if (!r.ok) throw Error("cuda", "NVRTC failed on " + source.name + ":\n" + r.log, {});
  image.image = std::move(r.code);
  cache.store(key, image.image);
  return image;
}

}  // namespace kiln::runtime::cuda
