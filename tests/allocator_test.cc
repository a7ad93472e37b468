// The caching allocator behind ir::Storage::allocate: size classes, reuse, the cap, borrowed
// memory, live_bytes, thread safety, and a steady loop over 64 MiB tensors that must not allocate.
#include "ir/allocator.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "ir/storage.h"
#include "kiln/kiln.h"
#include "tests/child_process.h"

namespace {

using kiln::ir::allocator_stats;
using kiln::ir::AllocatorStats;
using kiln::ir::Storage;

constexpr size_t kKiB = size_t{1} << 10;
constexpr size_t kMiB = size_t{1} << 20;

// Every test starts from an empty cache with the limit it had, and puts the limit back after.
class AllocatorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    saved_limit_ = kiln::ir::cache_limit();
    kiln::ir::release_cached_memory();
  }
  void TearDown() override {
    kiln::ir::set_cache_limit(saved_limit_);
    kiln::ir::release_cached_memory();
  }

 private:
  size_t saved_limit_ = 0;
};

TEST(SizeClass, SmallSizesRoundUpTo64Bytes) {
  EXPECT_EQ(kiln::ir::size_class(0), 64u);
  EXPECT_EQ(kiln::ir::size_class(1), 64u);
  EXPECT_EQ(kiln::ir::size_class(64), 64u);
  EXPECT_EQ(kiln::ir::size_class(65), 128u);
  EXPECT_EQ(kiln::ir::size_class(1000), 1024u);
  EXPECT_EQ(kiln::ir::size_class(64 * kKiB - 1), 64 * kKiB);
  EXPECT_EQ(kiln::ir::size_class(64 * kKiB), 64 * kKiB);
}

TEST(SizeClass, LargeSizesHaveEightClassesPerPowerOfTwo) {
  EXPECT_EQ(kiln::ir::size_class(64 * kKiB + 1), 72 * kKiB);
  EXPECT_EQ(kiln::ir::size_class(100 * kKiB), 104 * kKiB);
  EXPECT_EQ(kiln::ir::size_class(64 * kMiB), 64 * kMiB);
  EXPECT_EQ(kiln::ir::size_class(64 * kMiB + 1), 72 * kMiB);
  EXPECT_EQ(kiln::ir::size_class(120 * kMiB + 1), 128 * kMiB);
  EXPECT_EQ(kiln::ir::size_class(3 * 8 * kMiB), 24 * kMiB);  // multiples of the step are exact
}

TEST(SizeClass, WasteStaysWithinTheStatedBounds) {
  std::mt19937_64 rng(7);
  std::vector<size_t> sizes;
  for (size_t s = 0; s <= 200 * kKiB; s += 1 + s / 64) sizes.push_back(s);
  for (int i = 0; i < 20000; ++i) sizes.push_back(rng() % (size_t{1} << (1 + i % 40)));
  for (int k = 1; k < 40; ++k)
    for (int d : {-1, 0, 1}) sizes.push_back((size_t{1} << k) + d);
  std::sort(sizes.begin(), sizes.end());
  size_t previous = 0;
  for (size_t s : sizes) {
    size_t c = kiln::ir::size_class(s);
    ASSERT_GE(c, std::max<size_t>(s, 1)) << s;
    ASSERT_EQ(c % 64, 0u) << s;
    ASSERT_GE(c, previous) << s;  // monotonic: a bigger request never gets a smaller block
    previous = c;
    if (s <= 64 * kKiB) {
      ASSERT_LT(c - std::max<size_t>(s, 1), 64u) << s;  // 0 bytes still get a 64-byte block
    } else {
      ASSERT_LT(c - s, s / 8) << s;  // under 12.5%
    }
  }
}

TEST_F(AllocatorTest, FreeingThenAllocatingTheSameSizeReusesTheBlockAndCountsAHit) {
  AllocatorStats before = allocator_stats();
  void* first;
  {
    auto s = Storage::allocate(1000);
    first = s->data();
    EXPECT_EQ(reinterpret_cast<uintptr_t>(first) % 64, 0u);
    std::memset(first, 1, 1000);
  }
  AllocatorStats freed = allocator_stats();
  EXPECT_EQ(freed.misses, before.misses + 1);
  EXPECT_EQ(freed.cached_bytes, 1024);  // the class, not the request
  EXPECT_EQ(freed.cached_blocks, 1);

  auto again = Storage::allocate(1000);
  EXPECT_EQ(again->data(), first);
  AllocatorStats reused = allocator_stats();
  EXPECT_EQ(reused.hits, freed.hits + 1);
  EXPECT_EQ(reused.misses, freed.misses);
  EXPECT_EQ(reused.cached_bytes, 0);

  // Any request of the same class gets the block too.
  again.reset();
  auto same_class = Storage::allocate(961);
  EXPECT_EQ(same_class->data(), first);
  EXPECT_EQ(allocator_stats().hits, freed.hits + 2);
}

TEST_F(AllocatorTest, TheMostRecentlyFreedBlockOfAClassComesBackFirst) {
  auto a = Storage::allocate(4096);
  auto b = Storage::allocate(4096);
  void* pb = b->data();
  a.reset();
  b.reset();
  EXPECT_EQ(Storage::allocate(4096)->data(), pb);
}

TEST_F(AllocatorTest, LiveBytesCountLiveTensorsOnlyAndCachedBytesCountTheRest) {
  int64_t live = Storage::live_bytes();
  {
    auto s = Storage::allocate(1000);
    EXPECT_EQ(Storage::live_bytes(), live + 1000);
    EXPECT_EQ(allocator_stats().cached_bytes, 0);
  }
  EXPECT_EQ(Storage::live_bytes(), live);
  EXPECT_EQ(allocator_stats().cached_bytes, 1024);
  kiln::ir::release_cached_memory();
  EXPECT_EQ(allocator_stats().cached_bytes, 0);
  EXPECT_EQ(allocator_stats().cached_blocks, 0);
  int64_t misses = allocator_stats().misses;
  auto s = Storage::allocate(1000);
  EXPECT_EQ(allocator_stats().misses, misses + 1);
}

TEST_F(AllocatorTest, A64MiBBufferIsReusedAcrossALoopOfKilnOps) {
  constexpr int64_t kElements = 8 << 20;       // float64: 64 MiB, served by fresh memory maps without the cache
  kiln::ir::set_cache_limit(size_t{1} << 30);  // the default, whatever KILN_CACHE_BYTES says
  auto x = kiln::zeros({kElements}, kiln::dtype(kiln::kFloat64));
  x.eval();
  AllocatorStats warm{};
  int64_t warm_live = 0;
  for (int step = 0; step < 100; ++step) {
    x = x * 0.5 + 1.0;  // converges to 2
    x.eval();
    if (step == 4) {
      warm = allocator_stats();
      warm_live = Storage::live_bytes();
    }
  }
  AllocatorStats end = allocator_stats();
  EXPECT_EQ(end.misses, warm.misses) << "the steady loop called aligned_alloc";
  EXPECT_GE(end.hits - warm.hits, 95) << "every step allocates at least one 64 MiB block";
  EXPECT_EQ(end.cached_bytes, warm.cached_bytes);
  EXPECT_LE(end.cached_bytes, int64_t{4} * 64 * kMiB);
  EXPECT_EQ(Storage::live_bytes(), warm_live);
  EXPECT_EQ(kiln::stats().live_bytes, warm_live);
  EXPECT_EQ(x[kElements - 1].item<double>(), 2.0);
}

TEST_F(AllocatorTest, TheCapEvictsTheLeastRecentlyFreedBlocks) {
  kiln::ir::set_cache_limit(1 * kMiB);
  EXPECT_EQ(kiln::ir::cache_limit(), 1 * kMiB);
  std::vector<std::shared_ptr<Storage>> blocks;
  for (int i = 0; i < 5; ++i) blocks.push_back(Storage::allocate(256 * kKiB));
  std::vector<void*> pointers;
  for (auto& b : blocks) pointers.push_back(b->data());
  int64_t evictions = allocator_stats().evictions;
  for (int i = 0; i < 4; ++i) blocks[i].reset();
  EXPECT_EQ(allocator_stats().cached_bytes, static_cast<int64_t>(1 * kMiB));  // exactly at the cap
  EXPECT_EQ(allocator_stats().evictions, evictions);
  blocks[4].reset();  // over the cap: the first freed block goes
  AllocatorStats s = allocator_stats();
  EXPECT_EQ(s.cached_bytes, static_cast<int64_t>(1 * kMiB));
  EXPECT_EQ(s.cached_blocks, 4);
  EXPECT_EQ(s.evictions, evictions + 1);
  // The four cached blocks are the last four freed, newest first.
  for (int i = 4; i >= 1; --i) blocks[i] = Storage::allocate(256 * kKiB);
  for (int i = 4; i >= 1; --i) EXPECT_EQ(blocks[i]->data(), pointers[i]);
  EXPECT_EQ(allocator_stats().hits, s.hits + 4);
  EXPECT_EQ(allocator_stats().misses, s.misses);
}

TEST_F(AllocatorTest, ABlockLargerThanTheCapIsNeverCached) {
  kiln::ir::set_cache_limit(64 * kKiB);
  int64_t evictions = allocator_stats().evictions;
  Storage::allocate(128 * kKiB).reset();
  EXPECT_EQ(allocator_stats().cached_bytes, 0);
  EXPECT_EQ(allocator_stats().evictions, evictions + 1);
}

TEST_F(AllocatorTest, LoweringTheCapEvictsAtOnceAndZeroDisablesCaching) {
  for (int i = 0; i < 3; ++i) Storage::allocate((i + 1) * 100 * kKiB).reset();
  EXPECT_GT(allocator_stats().cached_bytes, static_cast<int64_t>(200 * kKiB));
  kiln::ir::set_cache_limit(200 * kKiB);
  EXPECT_LE(allocator_stats().cached_bytes, static_cast<int64_t>(200 * kKiB));
  kiln::ir::set_cache_limit(0);
  EXPECT_EQ(allocator_stats().cached_bytes, 0);
  Storage::allocate(64).reset();
  EXPECT_EQ(allocator_stats().cached_blocks, 0);
}

TEST_F(AllocatorTest, BorrowedMemoryNeverEntersTheCache) {
  constexpr size_t kBytes = 4096;
  void* blob = std::aligned_alloc(64, kBytes);
  ASSERT_NE(blob, nullptr);
  int64_t live = Storage::live_bytes();
  int deleted = 0;
  {
    auto s = Storage::borrow(blob, kBytes, [&](void* p) {
      EXPECT_EQ(p, blob);
      ++deleted;
    });
    EXPECT_EQ(Storage::live_bytes(), live);  // the user's memory, not Kiln's
  }
  EXPECT_EQ(deleted, 1);
  EXPECT_EQ(allocator_stats().cached_bytes, 0);

  // Through the public API: a tensor over user memory, used in a graph and destroyed. The memory
  // is filled first: aligned_alloc's bytes are uninitialized and may hold NaNs (NaN * 0 is NaN).
  std::fill_n(static_cast<float*>(blob), kBytes / sizeof(float), 0.5f);
  {
    auto t = kiln::from_blob(blob, {static_cast<int64_t>(kBytes / sizeof(float))}, kiln::dtype(kiln::kFloat32));
    auto y = (t * 0.0f + 1.0f);
    y.eval();
    EXPECT_EQ(y[3].item<float>(), 1.0f);
  }
  AllocatorStats s = allocator_stats();
  // Whatever the graph cached, none of it is the blob: no allocation of its class returns it.
  std::vector<std::shared_ptr<Storage>> held;
  for (int i = 0; i < s.cached_blocks + 2; ++i) {
    held.push_back(Storage::allocate(kBytes));
    EXPECT_NE(held.back()->data(), blob);
  }
  held.clear();
  kiln::ir::release_cached_memory();
  std::free(blob);  // still ours: the cache must not have freed it
}

TEST_F(AllocatorTest, ConcurrentAllocationsAreSafeAndStatsAddUp) {
  kiln::ir::set_cache_limit(8 * kMiB);
  AllocatorStats before = allocator_stats();
  constexpr int kThreads = 4;
  constexpr int kOps = 20000;
  std::atomic<int> corrupt{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      std::mt19937 rng(t);
      std::vector<std::shared_ptr<Storage>> mine;
      for (int i = 0; i < kOps; ++i) {
        if (mine.size() < 8 && rng() % 2 == 0) {
          size_t bytes = 1 + rng() % (256 * kKiB);
          auto s = Storage::allocate(bytes);
          auto* p = static_cast<unsigned char*>(s->data());
          p[0] = p[bytes - 1] = static_cast<unsigned char>(t);
          mine.push_back(std::move(s));
        } else if (!mine.empty()) {
          auto& s = mine.back();
          auto* p = static_cast<unsigned char*>(s->data());
          if (p[0] != t || p[s->bytes() - 1] != t) ++corrupt;
          mine.pop_back();
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  AllocatorStats after = allocator_stats();
  EXPECT_EQ(corrupt.load(), 0);
  EXPECT_LE(after.cached_bytes, static_cast<int64_t>(8 * kMiB));
  EXPECT_GT(after.hits, before.hits);
}

TEST(AllocatorEnvironment, KilnCacheBytesSetsTheCapAtFirstUse) {
  struct Case {
    std::optional<std::string> env;
    size_t limit;
    int hits;
  };
  const Case cases[] = {
      {std::nullopt, size_t{1} << 30, 1},
      {"4096", 4096, 1},
      {"2M", 2 * kMiB, 1},
      {"3GiB", size_t{3} << 30, 1},
      {"0", 0, 0},
      {"junk", size_t{1} << 30, 1},
      {"-5", size_t{1} << 30, 1},
      {"12Q", size_t{1} << 30, 1},
  };
  for (const Case& c : cases) {
    kiln::testing::ChildResult r = kiln::testing::run_env_probe("cache", {{"KILN_CACHE_BYTES", c.env}});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    std::string want = "cache_limit=" + std::to_string(c.limit) + " hits=" + std::to_string(c.hits) + "\n";
    EXPECT_EQ(r.out, want) << "KILN_CACHE_BYTES=" << c.env.value_or("(unset)");
  }
}

}  // namespace
