#include "ir/allocator.h"

#include <bit>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <iterator>
#include <list>
#include <mutex>
#include <new>
#include <unordered_map>

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
// Cached blocks are poisoned, so AddressSanitizer still reports a use after free that the cache
// would otherwise hide (the memory stays mapped and readable).
#define KILN_POISON(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define KILN_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION(p, n)
#else
#define KILN_POISON(p, n) ((void)(p), (void)(n))
#define KILN_UNPOISON(p, n) ((void)(p), (void)(n))
#endif

namespace kiln::ir {

namespace {

constexpr size_t kAlignment = 64;                  // a cache line, and an AVX-512 vector
constexpr size_t kSmallLimit = size_t{64} << 10;   // up to here, classes are 64 bytes apart
constexpr size_t kMaxRequest = size_t{1} << 62;    // rounding anything larger could overflow
constexpr size_t kDefaultLimit = size_t{1} << 30;  // 1 GiB

size_t limit_from_env() {
  const char* env = std::getenv("KILN_CACHE_BYTES");
  if (env == nullptr || *env == '\0') return kDefaultLimit;
  char* end = nullptr;
  errno = 0;
  unsigned long long n = std::strtoull(env, &end, 10);
  int shift = 0;
  switch (std::toupper(static_cast<unsigned char>(*end))) {
    case 'K':
      shift = 10;
      ++end;
      break;
    case 'M':
      shift = 20;
      ++end;
      break;
    case 'G':
      shift = 30;
      ++end;
      break;
    default:
      break;
  }
  if (shift != 0 && (*end == 'i' || *end == 'I') && (end[1] == 'B' || end[1] == 'b')) end += 2;  // "MiB"
  if (errno != 0 || end == env || *end != '\0' || *env == '-' || n > (kMaxRequest >> shift)) {
    std::fprintf(stderr,
                 "kiln: ignoring KILN_CACHE_BYTES=\"%s\" (want bytes, optionally with K, M or G); "
                 "caching up to %zu bytes\n",
                 env, kDefaultLimit);
    return kDefaultLimit;
  }
  return static_cast<size_t>(n) << shift;
}

class CachingAllocator {
 public:
  CachingAllocator() : limit_(limit_from_env()) {}

  void* allocate(size_t bytes) {
    size_t size = size_class(bytes);
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = free_.find(size);
      if (it != free_.end() && !it->second.empty()) {
        auto entry = it->second.back();  // the most recently freed block: likeliest still in cache
        it->second.pop_back();
        void* data = entry->data;
        lru_.erase(entry);
        cached_ -= size;
        ++hits_;
        KILN_UNPOISON(data, size);
        return data;
      }
      ++misses_;
    }
    void* data = std::aligned_alloc(kAlignment, size);
    if (data == nullptr) {
      release_all();  // the cache may hold exactly the memory the system is missing
      data = std::aligned_alloc(kAlignment, size);
      if (data == nullptr) throw std::bad_alloc();
    }
    return data;
  }

  // Never throws (it runs in Storage's destructor): moving list nodes between lists allocates
  // nothing, and only the bookkeeping of a newly cached block can run out of memory.
  void free(void* data, size_t bytes) noexcept {
    size_t size = size_class(bytes);
    std::list<Entry> victims;
    bool cached = false;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (size > limit_) {
        ++evictions_;
      } else {
        try {
          std::deque<std::list<Entry>::iterator>& free_list = free_[size];
          lru_.push_front({data, size});
          try {
            free_list.push_back(lru_.begin());
            cached = true;
          } catch (const std::bad_alloc&) {
            lru_.pop_front();
          }
        } catch (const std::bad_alloc&) {
          // No memory for the bookkeeping: the block goes back to the C library below.
        }
        if (cached) {
          cached_ += size;
          KILN_POISON(data, size);
          evict_over_limit(victims);
        }
      }
    }
    if (!cached) std::free(data);
    free_all(victims);  // outside the lock: unmapping a large block takes a while
  }

  void release_all() {
    std::list<Entry> victims;
    {
      std::lock_guard<std::mutex> lock(mu_);
      victims.splice(victims.end(), lru_);
      free_.clear();
      cached_ = 0;
    }
    free_all(victims);
  }

  void set_limit(size_t bytes) {
    std::list<Entry> victims;
    {
      std::lock_guard<std::mutex> lock(mu_);
      limit_ = bytes;
      evict_over_limit(victims);
    }
    free_all(victims);
  }

  size_t limit() {
    std::lock_guard<std::mutex> lock(mu_);
    return limit_;
  }

  AllocatorStats stats() {
    std::lock_guard<std::mutex> lock(mu_);
    return {static_cast<int64_t>(cached_), static_cast<int64_t>(lru_.size()), hits_, misses_, evictions_,
            static_cast<int64_t>(limit_)};
  }

 private:
  struct Entry {
    void* data;
    size_t size;
  };

  // Moves the least recently freed blocks to `victims` until the cache fits its limit. The oldest
  // block overall is also the oldest of its class, i.e. the front of that class's list.
  void evict_over_limit(std::list<Entry>& victims) noexcept {
    while (cached_ > limit_) {
      const Entry& oldest = lru_.back();
      free_.find(oldest.size)->second.pop_front();
      cached_ -= oldest.size;
      ++evictions_;
      victims.splice(victims.end(), lru_, std::prev(lru_.end()));
    }
  }

  static void free_all(std::list<Entry>& blocks) noexcept {
    for (const Entry& e : blocks) {
      KILN_UNPOISON(e.data, e.size);
      std::free(e.data);
    }
  }

  std::mutex mu_;
  std::list<Entry> lru_;  // every cached block, most recently freed first
  // Per size class, its cached blocks in the order they were freed (newest at the back).
  std::unordered_map<size_t, std::deque<std::list<Entry>::iterator>> free_;
  size_t cached_ = 0;
  size_t limit_;
  int64_t hits_ = 0;
  int64_t misses_ = 0;
  int64_t evictions_ = 0;
};

CachingAllocator& allocator() {
  // Never destroyed: storages held by static objects may be freed after every other static
  // destructor ran. Cached blocks stay reachable from here, so leak checkers do not report them.
  static CachingAllocator* a = new CachingAllocator();
  return *a;
}

}  // namespace

size_t size_class(size_t bytes) {
  if (bytes > kMaxRequest) throw std::bad_alloc();
  if (bytes <= kSmallLimit) return bytes == 0 ? kAlignment : (bytes + kAlignment - 1) / kAlignment * kAlignment;
  size_t step = std::bit_floor(bytes) >> 3;  // eight classes per power of two
  return (bytes + step - 1) / step * step;
}

void* allocate_block(size_t bytes) { return allocator().allocate(bytes); }
void free_block(void* data, size_t bytes) { allocator().free(data, bytes); }
AllocatorStats allocator_stats() { return allocator().stats(); }
void release_cached_memory() { allocator().release_all(); }
size_t cache_limit() { return allocator().limit(); }
void set_cache_limit(size_t bytes) { allocator().set_limit(bytes); }

}  // namespace kiln::ir
