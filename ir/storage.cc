#include "ir/storage.h"

#include <atomic>
#include <cstdlib>
#include <new>

namespace kiln::ir {

namespace {
std::atomic<int64_t> g_live_bytes{0};
constexpr size_t kAlignment = 64;  // a cache line, and an AVX-512 vector
}  // namespace

Storage::Storage(void* data, size_t bytes, std::function<void(void*)> deleter, bool owned)
    : data_(data), bytes_(bytes), deleter_(std::move(deleter)), owned_(owned) {
  if (owned_) g_live_bytes += static_cast<int64_t>(bytes_);
}

Storage::~Storage() {
  if (owned_) {
    std::free(data_);
    g_live_bytes -= static_cast<int64_t>(bytes_);
  } else if (deleter_) {
    deleter_(data_);
  }
}

std::shared_ptr<Storage> Storage::allocate(size_t bytes) {
  size_t rounded = (bytes + kAlignment - 1) / kAlignment * kAlignment;
  void* data = std::aligned_alloc(kAlignment, rounded == 0 ? kAlignment : rounded);
  if (!data) throw std::bad_alloc();
  return std::shared_ptr<Storage>(new Storage(data, bytes, {}, true));
}

std::shared_ptr<Storage> Storage::borrow(void* data, size_t bytes, std::function<void(void*)> deleter) {
  return std::shared_ptr<Storage>(new Storage(data, bytes, std::move(deleter), false));
}

int64_t Storage::live_bytes() { return g_live_bytes.load(); }

}  // namespace kiln::ir
