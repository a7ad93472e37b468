// A backend: what the executor needs from the device a step runs on, one implementation per
// device kind (runtime/cpu/ now; runtime/cuda/ with the CUDA issue). In tinygrad's terms a device
// is an allocator, a compiler and a program launcher; here also the library ops (BLAS) the fusion
// plan keeps out of kernels, and the text dumps show of each kernel.
//
// The kernel IR is backend-neutral; how a compiled program is called (the CPU's host function
// pointer, a CUDA module and function) stays inside the backend behind Program.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "codegen/kernel.h"
#include "ir/device.h"
#include "ir/node.h"
#include "ir/storage.h"

namespace kiln::runtime {

// A text form of a compiled kernel for KILN_DUMP, written as NAME + extension (".ll" for LLVM
// IR, ".s" for assembly; ".cu" and ".ptx" for CUDA).
struct Artifact {
  std::string extension;
  std::string text;
};

// A kernel compiled for one device, opaque outside its backend. Its code lives as long as it does.
class Program {
 public:
  virtual ~Program() = default;
  std::vector<Artifact> artifacts;  // made by the same compile, when it was asked for them
  bool from_compile_cache = false;  // read from the persistent compile cache, not compiled
};

class Backend {
 public:
  virtual ~Backend() = default;
  virtual Device device() const = 0;

  // Memory for `bytes` on this device.
  virtual std::shared_ptr<ir::Storage> allocate(size_t bytes) = 0;

  // Compiles `k` (the kernel cache calls this once per kernel structure; thread-safe), keeping
  // its text forms in the program when `with_artifacts` (dumps), from the same compile.
  virtual std::shared_ptr<const Program> compile(const codegen::Kernel& k, bool with_artifacts) = 0;
  // Runs `program` (compiled from `k`) over k's outer space at runtime extent `extent`; args[i]
  // is argument i's memory on this device.
  virtual void launch(const Program& program, const codegen::Kernel& k, void* const* args, int64_t extent) = 0;

  // Runs a node the fusion plan keeps out of kernels (matmul, argmax, a transfer) into `out`;
  // transposed[i]: input i is read with its last two axes swapped.
  virtual void run_extern(const ir::Node& n, const std::vector<const void*>& inputs, void* out,
                          const std::vector<bool>& transposed) = 0;

  // Copies `bytes` within this device's memory, and between it and the host.
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;
  virtual void copy_to_host(void* host_dst, const void* src, size_t bytes) = 0;
  virtual void copy_from_host(void* dst, const void* host_src, size_t bytes) = 0;

  // Waits until all work issued to the device is done (a no-op where launches are synchronous).
  virtual void synchronize() {}
};

// The backend for `device`; kiln::Error naming the device if this build has none for it.
Backend& backend_for(Device device);
bool has_backend(Device device);

// Makes `instance` (given the device's index, -1 for the default) the backend of devices of `type`. Each backend's own file calls it once,
// from a static initializer (its library is alwayslink): adding a backend changes nothing else.
bool register_backend(DeviceType type, Backend& (*instance)(int index));

}  // namespace kiln::runtime
