// A child process for cuda_image_test: KILN_CACHE_DIR is read once per process. Compiles every
// distinct kernel of an MLP step (forward, backward, an update) to a CUDA image for the
// compute capability given as argv[1], and prints how many images there were, how many were
// CUBINs, how many came from the disk cache, and a hash of all their bytes.
#include <cstdio>
#include <cstdlib>
#include <functional>
#include <set>
#include <string>

#include "kiln/kiln.h"
#include "kiln/nn/modules.h"
#include "runtime/cuda/kernel_image.h"
#include "tests/plan_runner.h"

int main(int argc, char** argv) {
  int arch = argc > 1 ? std::atoi(argv[1]) : 90;
  kiln::manual_seed(0);
  kiln::nn::Sequential model(kiln::nn::Linear(20, 16), kiln::nn::ReLU(), kiln::nn::Linear(16, 4));
  kiln::Tensor x = kiln::randn({8, 20}), y = kiln::randint(0, 4, {8});
  kiln::Tensor loss = kiln::nn::functional::cross_entropy(model->forward(x), y);
  std::vector<kiln::Tensor> grads = kiln::autograd::grad({loss}, model->parameters());
  int images = 0, cubins = 0, loaded = 0;
  std::set<std::string> seen;
  size_t hash = 0;
  for (const kiln::Tensor& g : grads) {
    kiln::Tensor update = model->parameters()[0] * 0.9 - g.sum() * 0.1;  // an optimizer-like step
    for (const kiln::Tensor& t : {g, update}) {
      kiln::testing::PlannedGraph plan = kiln::testing::plan_graph(t, /*fuse=*/true, /*runtime_extents=*/true);
      for (const auto& lowered : plan.lowered) {
        if (!lowered || !seen.insert(lowered->kernel.name).second) continue;  // each distinct kernel once
        kiln::runtime::cuda::KernelImage image = kiln::runtime::cuda::compile_kernel_image(lowered->kernel, arch);
        ++images;
        cubins += image.cubin;
        loaded += image.loaded;
        hash = hash * 31 + std::hash<std::string>()(image.image);
      }
    }
  }
  std::printf("images %d cubins %d loaded %d hash %zx\n", images, cubins, loaded, hash);
  return 0;
}
