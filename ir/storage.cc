#include "ir/storage.h"

#include <atomic>
#include <cstring>

#include "ir/allocator.h"

namespace kiln::ir {

namespace {
std::atomic<int64_t> g_live_bytes{0};
}  // namespace

Storage::Storage(void* data, size_t bytes, std::function<void(void*)> deleter, bool owned)
    : data_(data), bytes_(bytes), deleter_(std::move(deleter)), owned_(owned) {
  if (owned_) g_live_bytes += static_cast<int64_t>(bytes_);
}

Storage::~Storage() {
  if (owned_) {
    g_live_bytes -= static_cast<int64_t>(bytes_);
    free_block(data_, bytes_);  // to the cache: see allocator.h
  } else if (deleter_) {
    deleter_(data_);
  }
}

std::shared_ptr<Storage> Storage::allocate(size_t bytes) {
  void* data = allocate_block(bytes);
  try {
    return std::shared_ptr<Storage>(new Storage(data, bytes, {}, true));
  } catch (...) {
    free_block(data, bytes);
    throw;
  }
}

std::shared_ptr<Storage> Storage::borrow(void* data, size_t bytes, std::function<void(void*)> deleter) {
  return std::shared_ptr<Storage>(new Storage(data, bytes, std::move(deleter), false));
}

std::shared_ptr<Storage> Storage::window(std::shared_ptr<Storage> parent, size_t offset, size_t bytes) {
  auto w = std::shared_ptr<Storage>(new Storage(static_cast<char*>(parent->data()) + offset, bytes, {}, false));
  w->parent_ = std::move(parent);
  return w;
}

std::shared_ptr<Storage> Storage::copy() const {
  std::shared_ptr<Storage> c = allocate(bytes_);
  if (bytes_) std::memcpy(c->data(), data_, bytes_);
  return c;
}

int64_t Storage::live_bytes() { return g_live_bytes.load(); }

}  // namespace kiln::ir
