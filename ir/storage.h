// A block of memory holding a materialized tensor: owned (64-byte aligned, from the caching
// allocator in allocator.h, which takes it back when the storage dies), owned on a device (from
// that device's allocator, through DeviceMemory), borrowed from the user (from_blob; never
// cached), or a window into another storage (a contiguous slice of an evaluated
// tensor, which shares its memory as a LibTorch view does and keeps it alive).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace kiln::ir {

class Storage;

// Memory of a device other than the host (runtime/cuda's allocator): the host never dereferences
// such a storage's data(); copying one (clone, copy-on-write before an in-place write) goes
// through its device.
class DeviceMemory {
 public:
  virtual ~DeviceMemory() = default;
  virtual std::shared_ptr<Storage> allocate(size_t bytes) = 0;
  virtual void copy(void* dst, const void* src, size_t bytes) = 0;  // within the device
};

class Storage {
 public:
  static std::shared_ptr<Storage> allocate(size_t bytes);
  // Borrows `data`; `deleter` (may be empty) runs when the last reference goes.
  static std::shared_ptr<Storage> borrow(void* data, size_t bytes, std::function<void(void*)> deleter);
  // Device memory from `memory`'s allocator; `release` returns it there when the last reference goes.
  static std::shared_ptr<Storage> on_device(void* data, size_t bytes, DeviceMemory* memory,
                                            std::function<void(void*)> release);
  // `bytes` of `parent` from byte `offset` on.
  static std::shared_ptr<Storage> window(std::shared_ptr<Storage> parent, size_t offset, size_t bytes);

  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  bool owned() const { return owned_; }
  // The memory is the user's (from_blob, or a window into such memory).
  bool borrowed() const { return parent_ ? parent_->borrowed() : !owned_; }
  // The user holds the memory's address (it is borrowed, or data_ptr handed it out): writes to
  // the tensor must land in this memory, and its address must not change.
  bool exposed() const { return parent_ ? parent_->exposed() : exposed_ || !owned_; }
  void expose() { parent_ ? parent_->expose() : void(exposed_ = true); }
  // Device memory (null for the host's).
  DeviceMemory* device_memory() const { return parent_ ? parent_->device_memory() : device_memory_; }
  // A new owned storage holding a copy of this one's bytes, on the same device.
  std::shared_ptr<Storage> copy() const;
  // Overwrites this storage's bytes with `source`'s (the same size, on the same device).
  void assign(const Storage& source);

  // Bytes held by owned storages now alive: lets tests check that memory stays bounded. Blocks
  // cached for reuse do not count (see allocator_stats()).
  static int64_t live_bytes();

 private:
  Storage(void* data, size_t bytes, std::function<void(void*)> deleter, bool owned);
  void* data_;
  size_t bytes_;
  std::function<void(void*)> deleter_;
  bool owned_;
  bool exposed_ = false;
  std::shared_ptr<Storage> parent_;  // a window's storage
  DeviceMemory* device_memory_ = nullptr;
};

}  // namespace kiln::ir
