// The CUDA backend (runtime/backend.h): kernels rendered as CUDA C and compiled by NVRTC to an image
// for the device (through the persistent compile cache: kernel_image.h), loaded as a module and
// launched on the device's one stream; memory from the caching allocator; matmul through cuBLAS;
// transfers with the driver's copies, to the device through pinned staging buffers. Everything is asynchronous on the stream except a copy to
// the host, which waits for it (the host reads the values next).
#include <algorithm>
#include <memory>

#include "codegen/cuda/nvrtc.h"
#include "codegen/cuda/render.h"
#include "codegen/runtime_extent.h"
#include "ir/error.h"
#include "runtime/backend.h"
#include "runtime/cuda/allocator.h"
#include "runtime/cuda/cublas.h"
#include "runtime/cuda/kernel_image.h"
#include "runtime/cuda/staging.h"
#include "runtime/reference/kernels.h"

namespace kiln::runtime::cuda {

namespace {

constexpr int64_t kMaxGrid = (int64_t{1} << 31) - 1;
// Grid-stride kernels get enough blocks to fill the device several times over, no more: each
// thread then handles several points, which amortizes its index setup.
constexpr int64_t kBlocksPerMultiprocessor = 16;

// A kernel loaded on one device: its module (unloaded when the kernel cache lets the program go)
// and function.
struct DeviceProgram final : Program {
  CUmodule module = nullptr;
  CUfunction function = nullptr;
  int block_threads = 0;
  bool block_per_point = false;
  ~DeviceProgram() override {
    if (module) driver_api("cuda").cuModuleUnload(module);  // at exit the driver may be gone: no check
  }
};

class CudaBackend final : public Backend {
 public:
  explicit CudaBackend(CudaDevice& device)
      : device_(device), memory_(device_allocator(device.index())), staging_(pinned_staging(device.index())) {}

  Device device() const override { return Device(kCUDA, device_.index()); }

  std::shared_ptr<ir::Storage> allocate(size_t bytes) override { return memory_.allocate(bytes); }

  std::shared_ptr<const Program> compile(const codegen::Kernel& k, bool with_artifacts) override {
    KernelImage image = compile_kernel_image(k, device_.compute_capability());
    const codegen::cuda::KernelSource& source = image.source;
    auto program = std::make_shared<DeviceProgram>();
    program->from_compile_cache = image.loaded;
    program->block_threads = source.block_threads;
    program->block_per_point = source.block_per_point;
    const DriverApi& api = driver_api("cuda");
    device_.make_current();
    check_cuda(api.cuModuleLoadData(&program->module, image.image.c_str()), "cuda",
               "loading " + k.name + " (" + (image.cubin ? "sm_" : "compute_") + std::to_string(image.arch) + ")");
    check_cuda(api.cuModuleGetFunction(&program->function, program->module, k.name.c_str()), "cuda",
               "cuModuleGetFunction(" + k.name + ")");
    if (with_artifacts) program->artifacts = artifacts(source, image);
    return program;
  }

  void launch(const Program& program, const codegen::Kernel& k, void* const* args, int64_t extent) override {
    const auto& p = static_cast<const DeviceProgram&>(program);
    int64_t points = numel(codegen::outer_extents(k, extent));
    if (points == 0) return;
    int64_t blocks = p.block_per_point ? points
                                       : std::min((points + p.block_threads - 1) / p.block_threads,
                                                  kBlocksPerMultiprocessor * std::max(device_.multiprocessors(), 1));
    std::vector<void*> params = codegen::cuda::kernel_params(k, args, &extent);
    device_.make_current();
    check_cuda(driver_api("cuda").cuLaunchKernel(p.function, static_cast<unsigned>(std::min(blocks, kMaxGrid)), 1, 1,
                                                 static_cast<unsigned>(p.block_threads), 1, 1, 0, device_.stream(),
                                                 params.data(), nullptr),
               "cuda", "launching " + k.name);
  }

  void run_extern(const ir::Node& n, const std::vector<const void*>& inputs, void* out,
                  const std::vector<bool>& transposed) override {
    size_t bytes = static_cast<size_t>(n.numel()) * element_size(n.dtype);
    if (n.op == ir::Op::Transfer) {
      if (n.device.is_cpu()) return copy_to_host(out, inputs[0], bytes);
      if (n.inputs[0]->device.is_cpu()) return copy_from_host(out, inputs[0], bytes);
      // Between devices (the driver copies peer to peer under unified addressing): after the
      // source's stream has made the input, and before the source may reuse its block.
      CudaDevice& source = cuda_device(std::max(n.inputs[0]->device.index(), 0), "to");
      source.synchronize();
      copy(out, inputs[0], bytes);
      return device_.synchronize();
    }
    bool trans_a = !transposed.empty() && transposed[0], trans_b = transposed.size() > 1 && transposed[1];
    if (n.op == ir::Op::MatMul && (n.dtype == kFloat32 || n.dtype == kFloat64))
      return cublas_matmul(device_, n, inputs[0], inputs[1], out, trans_a, trans_b);
    run_on_host(n, inputs, out);
  }

  void copy(void* dst, const void* src, size_t bytes) override { memory_.copy(dst, src, bytes); }

  void copy_to_host(void* host_dst, const void* src, size_t bytes) override {
    if (bytes == 0) return;
    device_.make_current();
    check_cuda(driver_api("cuda").cuMemcpyDtoHAsync(host_dst, reinterpret_cast<CUdeviceptr>(src), bytes,
                                                    device_.stream()),
               "cuda", "copying " + std::to_string(bytes) + " bytes to the host");
    device_.synchronize();  // the host reads them next
  }

  void copy_from_host(void* dst, const void* host_src, size_t bytes) override {
    if (bytes == 0) return;
    staging_.copy_to_device(reinterpret_cast<CUdeviceptr>(dst), host_src, bytes);
  }

  void synchronize() override { device_.synchronize(); }

 private:
  // The CUDA C and PTX of a kernel, for KILN_DUMP=cuda,ptx (a CUBIN's PTX is compiled again).
  std::vector<Artifact> artifacts(const codegen::cuda::KernelSource& source, const KernelImage& image) const {
    std::vector<Artifact> out = {{".cu", source.code}};
    if (!image.cubin) {
      out.push_back({".ptx", image.image});
    } else {
      codegen::cuda::NvrtcResult ptx = codegen::cuda::nvrtc_compile(source.code, source.name, image.arch, false);
      if (ptx.ok) out.push_back({".ptx", std::move(ptx.code)});
    }
    return out;
  }

  // An op without a device implementation (integer matmul): its inputs copied to the host, the
  // reference executor's loop, the result copied back. Correct, and slow by design.
  void run_on_host(const ir::Node& n, const std::vector<const void*>& inputs, void* out) {
    std::vector<std::shared_ptr<ir::Storage>> host;
    reference::Inputs in;
    for (size_t i = 0; i < inputs.size(); ++i) {
      size_t bytes = static_cast<size_t>(n.inputs[i]->numel()) * element_size(n.inputs[i]->dtype);
      host.push_back(ir::Storage::allocate(bytes));
      copy_to_host(host.back()->data(), inputs[i], bytes);
      in.push_back(host.back()->data());
    }
    auto result = ir::Storage::allocate(static_cast<size_t>(n.numel()) * element_size(n.dtype));
    reference::run_node(n, in, result->data());
    copy_from_host(out, result->data(), result->bytes());
    device_.synchronize();  // `result` dies on return
  }

  CudaDevice& device_;
  DeviceAllocator& memory_;
  PinnedStaging& staging_;
};

Backend& cuda_backend(int index) { return per_device<CudaBackend>(std::max(index, 0), "cuda"); }

const bool registered = register_backend(kCUDA, cuda_backend);

}  // namespace

}  // namespace kiln::runtime::cuda
