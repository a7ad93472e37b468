// The caching allocator behind Storage::allocate: freed tensor memory is kept for reuse instead
// of going back to the C library.
//
// Why: glibc serves allocations of 32 MiB and more with fresh memory maps and unmaps them on free,
// so every such buffer pays its page faults again (about 0.45 ms per MiB on our machines): a loop
// over 64 MiB tensors would spend most of its time in the kernel. With the cache, a steady loop
// reuses the same blocks, already faulted in, and never calls malloc.
//
// Policy:
// - Size classes. A request is served by a block of size_class(bytes):
//   * up to 64 KiB: rounded up to a multiple of 64 bytes (waste < 64 bytes per block);
//   * above 64 KiB: eight classes per power of two, i.e. rounded up to a multiple of 2^(k-3)
//     where 2^k <= bytes < 2^(k+1) (waste < 1/8 of the request, 12.5%; powers of two and
//     other multiples of 2^(k-3) are exact). A 64 MiB request gets exactly 64 MiB.
//   Blocks are 64-byte aligned (a cache line, an AVX-512 vector).
// - Reuse. Each class keeps a free list; allocate() takes the most recently freed block of its
//   class (its lines are the likeliest still in cache) before calling aligned_alloc.
// - Cap. Cached blocks hold at most cache_limit() bytes: 1 GiB by default, or the environment
//   variable KILN_CACHE_BYTES (bytes, optional K/M/G suffix, binary units; 0 disables caching),
//   read once at first use; set_cache_limit() changes it. Over the cap, the least recently freed
//   blocks (over all classes) go back to the C library; a block larger than the cap is never
//   cached. If aligned_alloc fails, the whole cache is released and the allocation retried once.
// - Thread-safe (one mutex; the C library is called outside it when freeing).
// - Only owned storages come here: borrowed memory (Storage::borrow, from_blob) belongs to the
//   user and is never cached.
// - Storage::live_bytes() still counts the bytes of live tensors only; cached blocks are reported
//   by allocator_stats().
#pragma once

#include <cstddef>
#include <cstdint>

namespace kiln::ir {

struct AllocatorStats {
  int64_t cached_bytes = 0;   // bytes in free lists, ready for reuse (held by no tensor)
  int64_t cached_blocks = 0;  // blocks in free lists
  int64_t hits = 0;           // allocations served from the cache
  int64_t misses = 0;         // allocations that had to call aligned_alloc
  int64_t evictions = 0;      // freed blocks given back to the C library because of the cap
  int64_t limit_bytes = 0;    // cache_limit()
};

AllocatorStats allocator_stats();

// Gives every cached block back to the C library (live tensors are untouched).
void release_cached_memory();

// The cap on cached bytes. Lowering it evicts immediately.
size_t cache_limit();
void set_cache_limit(size_t bytes);

// The size of the block that serves a request of `bytes` (see the policy above).
size_t size_class(size_t bytes);

// For Storage: a 64-byte aligned block of at least `bytes` (size_class(bytes)) bytes; throws
// std::bad_alloc. free_block takes the same `bytes` that allocate_block was given.
void* allocate_block(size_t bytes);
void free_block(void* data, size_t bytes);

}  // namespace kiln::ir
