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
  if (device_memory_) {
    deleter_(data_);
  } else if (owned_) {
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

std::shared_ptr<Storage> Storage::on_device(void* data, size_t bytes, DeviceMemory* memory,
                                            std::function<void(void*)> release) {
  auto s = std::shared_ptr<Storage>(new Storage(data, bytes, std::move(release), false));
  s->owned_ = true;  // not the user's memory: only Kiln holds its address until data_ptr()
  s->device_memory_ = memory;
  return s;
}

std::shared_ptr<Storage> Storage::window(std::shared_ptr<Storage> parent, size_t offset, size_t bytes) {
  auto w = std::shared_ptr<Storage>(new Storage(static_cast<char*>(parent->data()) + offset, bytes, {}, false));
  w->parent_ = std::move(parent);
  return w;
}

std::shared_ptr<Storage> Storage::copy() const {
  DeviceMemory* device = device_memory();
  std::shared_ptr<Storage> c = device ? device->allocate(bytes_) : allocate(bytes_);
  c->assign(*this);
  return c;
}

void Storage::assign(const Storage& source) {
  if (bytes_ == 0 || source.data_ == data_) return;
  if (DeviceMemory* device = device_memory()) device->copy(data_, source.data_, bytes_);
  else std::memcpy(data_, source.data_, bytes_);
}

int64_t Storage::live_bytes() { return g_live_bytes.load(); }

}  // namespace kiln::ir
