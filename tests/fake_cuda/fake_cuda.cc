// A CUDA driver (and the cuBLAS calls Kiln makes) that emulates one device in host memory, for
// testing the CUDA backend on machines without a GPU. Loaded by the backend in place of libcuda
// (KILN_CUDA_DRIVER) and cuBLAS (KILN_CUBLAS). Device memory is host memory the fake tracks, so it
// can reject what a real driver would fault on: a kernel argument, copy source or destination
// that is not device memory where device memory is due. Kernels cannot run from their CUBIN here:
// the test registers a launch hook (fake_cuda_set_launch_hook) that runs the kernel's CUDA C
// compiled for the host (tests/cuda_emulation.h); a launch the hook cannot run fails.
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>

namespace {

using CUresult = int;
constexpr CUresult kSuccess = 0, kInvalidValue = 1, kOutOfMemory = 2, kNotFound = 500, kInvalidImage = 200;

struct Function {
  std::string name;
};

std::mutex g_mu;
std::map<uintptr_t, size_t> g_device;  // device allocations: address -> size
size_t g_memory_limit = size_t{1} << 32;
size_t g_in_use = 0;
bool (*g_launch_hook)(const char* name, void** params) = nullptr;

struct Counters {
  int64_t allocations, frees, launches, copies_to_device, copies_to_host, modules_loaded, pinned_allocations;
} g_counters{};

// Whether [p, p + bytes) lies inside one device allocation.
bool on_device(uintptr_t p, size_t bytes) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_device.upper_bound(p);
  if (it == g_device.begin()) return false;
  --it;
  return p >= it->first && p + bytes <= it->first + it->second;
}

}  // namespace

extern "C" {

// --- test hooks ---
void fake_cuda_set_launch_hook(bool (*hook)(const char* name, void** params)) { g_launch_hook = hook; }
bool fake_cuda_is_device_pointer(const void* p, size_t bytes) {
  return on_device(reinterpret_cast<uintptr_t>(p), bytes);
}
void fake_cuda_counters(int64_t* out) {
  std::lock_guard<std::mutex> lock(g_mu);
  std::memcpy(out, &g_counters, sizeof g_counters);
}
void fake_cuda_set_memory_limit(size_t bytes) { g_memory_limit = bytes; }

// --- the driver ---
CUresult cuInit(unsigned) { return kSuccess; }
CUresult cuDeviceGetCount(int* n) {
  *n = 1;
  return kSuccess;
}
CUresult cuGetErrorName(CUresult r, const char** name) {
  *name = r == kOutOfMemory ? "CUDA_ERROR_OUT_OF_MEMORY"
          : r == kInvalidValue ? "CUDA_ERROR_INVALID_VALUE"
          : r == kNotFound     ? "CUDA_ERROR_NOT_FOUND"
          : r == kInvalidImage ? "CUDA_ERROR_INVALID_IMAGE"
                               : "CUDA_ERROR_UNKNOWN";
  return kSuccess;
}
CUresult cuDeviceGet(int* device, int ordinal) {
  if (ordinal != 0) return kInvalidValue;
  *device = 0;
  return kSuccess;
}
CUresult cuDeviceGetAttribute(int* value, int attribute, int) {
  switch (attribute) {
    case 16: *value = 132; return kSuccess;  // multiprocessors (an H100 SXM's)
    case 75: *value = 9; return kSuccess;    // compute capability 9.0
    case 76: *value = 0; return kSuccess;
  }
  return kInvalidValue;
}
CUresult cuDeviceGetName(char* name, int length, int) {
  std::strncpy(name, "Kiln fake CUDA device", static_cast<size_t>(length));
  return kSuccess;
}
CUresult cuDevicePrimaryCtxRetain(void** context, int) {
  static int context_object;
  *context = &context_object;
  return kSuccess;
}
thread_local void* g_current = nullptr;
CUresult cuCtxGetCurrent(void** context) {
  *context = g_current;
  return kSuccess;
}
CUresult cuCtxSetCurrent(void* context) {
  g_current = context;
  return kSuccess;
}
CUresult cuStreamCreate(void** stream, unsigned) {
  static int stream_object;
  *stream = &stream_object;
  return kSuccess;
}
CUresult cuStreamSynchronize(void*) { return kSuccess; }
// Work is done when it is issued: every event has passed.
CUresult cuEventCreate(void** event, unsigned) {
  static int event_object;
  *event = &event_object;
  return kSuccess;
}
CUresult cuEventRecord(void*, void*) { return kSuccess; }
CUresult cuEventQuery(void*) { return kSuccess; }

CUresult cuMemAlloc_v2(uint64_t* p, size_t bytes) {
  std::lock_guard<std::mutex> lock(g_mu);
  if (bytes == 0) return kInvalidValue;
  if (g_in_use + bytes > g_memory_limit) return kOutOfMemory;
  void* block = std::aligned_alloc(256, (bytes + 255) / 256 * 256);
  if (!block) return kOutOfMemory;
  g_device[reinterpret_cast<uintptr_t>(block)] = bytes;
  g_in_use += bytes;
  ++g_counters.allocations;
  *p = reinterpret_cast<uintptr_t>(block);
  return kSuccess;
}
CUresult cuMemFree_v2(uint64_t p) {
  std::lock_guard<std::mutex> lock(g_mu);
  auto it = g_device.find(p);
  if (it == g_device.end()) return kInvalidValue;
  g_in_use -= it->second;
  g_device.erase(it);
  std::free(reinterpret_cast<void*>(p));
  ++g_counters.frees;
  return kSuccess;
}
CUresult cuMemHostAlloc(void** p, size_t bytes, unsigned) {
  ++g_counters.pinned_allocations;
  *p = std::malloc(bytes);
  return *p ? kSuccess : kOutOfMemory;
}
CUresult cuMemFreeHost(void* p) {
  std::free(p);
  return kSuccess;
}
// Unified addressing: either end may be host or device memory.
CUresult cuMemcpyAsync(uint64_t dst, uint64_t src, size_t bytes, void*) {
  std::memmove(reinterpret_cast<void*>(dst), reinterpret_cast<const void*>(src), bytes);
  return kSuccess;
}
CUresult cuMemcpyHtoDAsync_v2(uint64_t dst, const void* src, size_t bytes, void*) {
  if (!on_device(dst, bytes) || on_device(reinterpret_cast<uintptr_t>(src), bytes)) return kInvalidValue;
  std::memcpy(reinterpret_cast<void*>(dst), src, bytes);
  ++g_counters.copies_to_device;
  return kSuccess;
}
CUresult cuMemcpyDtoHAsync_v2(void* dst, uint64_t src, size_t bytes, void*) {
  if (!on_device(src, bytes) || on_device(reinterpret_cast<uintptr_t>(dst), bytes)) return kInvalidValue;
  std::memcpy(dst, reinterpret_cast<const void*>(src), bytes);
  ++g_counters.copies_to_host;
  return kSuccess;
}

// A module is its image; a function is found by its name in it (a CUBIN's symbol table, PTX's
// .entry), as the driver would.
CUresult cuModuleLoadData(void** module, const void* image) {
  const char* bytes = static_cast<const char*>(image);
  bool elf = std::memcmp(bytes, "\x7f" "ELF", 4) == 0;
  bool ptx = !elf && std::strstr(bytes, ".version") != nullptr;
  if (!elf && !ptx) return kInvalidImage;
  // A CUBIN's size is in its ELF header: section headers at e_shoff, e_shnum of e_shentsize bytes.
  size_t size = std::strlen(bytes);
  if (elf) {
    uint64_t shoff;
    uint16_t shentsize, shnum;
    std::memcpy(&shoff, bytes + 0x28, 8);
    std::memcpy(&shentsize, bytes + 0x3a, 2);
    std::memcpy(&shnum, bytes + 0x3c, 2);
    size = shoff + size_t{shentsize} * shnum;
  }
  *module = new std::string(bytes, size);
  ++g_counters.modules_loaded;
  return kSuccess;
}
CUresult cuModuleUnload(void* module) {
  delete static_cast<std::string*>(module);
  return kSuccess;
}
CUresult cuModuleGetFunction(void** function, void* module, const char* name) {
  const std::string& image = *static_cast<std::string*>(module);
  if (image.find(name) == std::string::npos) return kNotFound;
  *function = new Function{name};
  return kSuccess;
}
CUresult cuLaunchKernel(void* function, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                        unsigned shared, void*, void** params, void** extra) {
  if (!function || gx == 0 || gy != 1 || gz != 1 || bx == 0 || bx > 1024 || by != 1 || bz != 1 || shared != 0 ||
      !params || extra)
    return kInvalidValue;
  if (!g_launch_hook) return kNotFound;
  ++g_counters.launches;
  return g_launch_hook(static_cast<Function*>(function)->name.c_str(), params) ? kSuccess : kInvalidValue;
}

// --- cuBLAS: column-major strided batched gemm, as the real one, in double ---
using Handle = void*;
int cublasCreate_v2(Handle* h) {
  static int handle_object;
  *h = &handle_object;
  return 0;
}
int cublasSetStream_v2(Handle, void*) { return 0; }

}  // extern "C"

namespace {
template <typename T>
int gemm(int ta, int tb, int m, int n, int k, const T* alpha, const T* a, int lda, long long sa, const T* b, int ldb,
         long long sb, const T* beta, T* c, int ldc, long long sc, int batch) {
  // cuBLAS's own argument checks: leading dimensions at least the rows stored, and at least 1.
  auto rows = [](int r) { return r > 1 ? r : 1; };
  if (lda < rows(ta ? k : m) || ldb < rows(tb ? n : k) || ldc < rows(m)) return 7;  // CUBLAS_STATUS_INVALID_VALUE
  for (int p = 0; p < batch; ++p) {
    const T *A = a + p * sa, *B = b + p * sb;
    if (!on_device(reinterpret_cast<uintptr_t>(A), sizeof(T)) || !on_device(reinterpret_cast<uintptr_t>(B), sizeof(T)))
      return 7;  // CUBLAS_STATUS_INVALID_VALUE
    T* C = c + p * sc;
    for (int j = 0; j < n; ++j)
      for (int i = 0; i < m; ++i) {
        double sum = 0;
        for (int l = 0; l < k; ++l)
          sum += double(ta ? A[l + i * lda] : A[i + l * lda]) * double(tb ? B[j + l * ldb] : B[l + j * ldb]);
        C[i + j * ldc] = T(*alpha * T(sum) + (*beta == T(0) ? T(0) : *beta * C[i + j * ldc]));
      }
  }
  return 0;
}
}  // namespace

extern "C" {
int cublasSgemmStridedBatched(Handle, int ta, int tb, int m, int n, int k, const float* alpha, const float* a, int lda,
                              long long sa, const float* b, int ldb, long long sb, const float* beta, float* c, int ldc,
                              long long sc, int batch) {
  return gemm(ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
}
int cublasDgemmStridedBatched(Handle, int ta, int tb, int m, int n, int k, const double* alpha, const double* a,
                              int lda, long long sa, const double* b, int ldb, long long sb, const double* beta,
                              double* c, int ldc, long long sc, int batch) {
  return gemm(ta, tb, m, n, k, alpha, a, lda, sa, b, ldb, sb, beta, c, ldc, sc, batch);
}
}  // extern "C"
