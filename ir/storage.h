// A block of memory holding a materialized tensor: owned (64-byte aligned, from the caching
// allocator in allocator.h, which takes it back when the storage dies) or borrowed from the user
// (from_blob; never cached).
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>

namespace kiln::ir {

class Storage {
 public:
  static std::shared_ptr<Storage> allocate(size_t bytes);
  // Borrows `data`; `deleter` (may be empty) runs when the last reference goes.
  static std::shared_ptr<Storage> borrow(void* data, size_t bytes, std::function<void(void*)> deleter);

  Storage(const Storage&) = delete;
  Storage& operator=(const Storage&) = delete;
  ~Storage();

  void* data() const { return data_; }
  size_t bytes() const { return bytes_; }
  bool owned() const { return owned_; }

  // Bytes held by owned storages now alive: lets tests check that memory stays bounded. Blocks
  // cached for reuse do not count (see allocator_stats()).
  static int64_t live_bytes();

 private:
  Storage(void* data, size_t bytes, std::function<void(void*)> deleter, bool owned);
  void* data_;
  size_t bytes_;
  std::function<void(void*)> deleter_;
  bool owned_;
};

}  // namespace kiln::ir
