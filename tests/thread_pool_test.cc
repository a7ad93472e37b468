// The process-wide thread pool: coverage and chunking, sizing (KILN_NUM_THREADS, set_num_threads),
// exceptions, nesting, concurrent callers, blocking idle workers, OpenBLAS sizing and overhead.
#include "runtime/thread_pool.h"

#include <cblas.h>
#include <gtest/gtest.h>
#include <sched.h>
#include <time.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <mutex>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/child_process.h"

namespace {

using kiln::runtime::thread_pool;
using kiln::runtime::ThreadPool;

// Restores the pool's size after each test, so tests do not depend on each other's order.
class ThreadPoolTest : public ::testing::Test {
 protected:
  void SetUp() override { saved_ = thread_pool().num_threads(); }
  void TearDown() override { thread_pool().set_num_threads(saved_); }

 private:
  int saved_ = 1;
};

// Blocks each chunk until `count` chunks have started (or 20 s passed), which forces the chunks
// onto distinct threads: the caller cannot claim a second chunk while it waits in its first.
class StartLatch {
 public:
  explicit StartLatch(int count) : count_(count) {}
  void arrive_and_wait() {
    ++started_;
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    while (started_.load() < count_ && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  }

 private:
  int count_;
  std::atomic<int> started_{0};
};

double process_cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

int affinity_cpus() {
  cpu_set_t set;
  EXPECT_EQ(sched_getaffinity(0, sizeof(set), &set), 0);
  return CPU_COUNT(&set);
}

TEST_F(ThreadPoolTest, CoversEveryIndexExactlyOnceInAtMostNumThreadsChunksOfAtLeastGrain) {
  const std::vector<int64_t> sizes = {0, 1, 2, 3, 5, 7, 8, 16, 63, 64, 65, 100, 1000, 4097};
  const std::vector<int64_t> grains = {-1, 0, 1, 2, 3, 7, 64, 1000, 5000};
  int combinations = 0;
  for (int threads : {1, 2, 3, 4, 7, 16}) {
    thread_pool().set_num_threads(threads);
    ASSERT_EQ(thread_pool().num_threads(), threads);
    for (int64_t n : sizes) {
      for (int64_t grain : grains) {
        SCOPED_TRACE("threads=" + std::to_string(threads) + " n=" + std::to_string(n) +
                     " grain=" + std::to_string(grain));
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        std::mutex mu;
        std::vector<std::pair<int64_t, int64_t>> chunks;
        thread_pool().parallel_for(n, grain, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) ++hits[static_cast<size_t>(i)];
          std::lock_guard<std::mutex> lock(mu);
          chunks.emplace_back(begin, end);
        });
        for (int64_t i = 0; i < n; ++i) ASSERT_EQ(hits[static_cast<size_t>(i)].load(), 1) << "index " << i;
        if (n == 0) {
          EXPECT_TRUE(chunks.empty());
          continue;
        }
        int64_t g = std::max<int64_t>(grain, 1);
        int64_t expected_chunks = std::max<int64_t>(1, std::min<int64_t>(threads, n / g));
        EXPECT_EQ(static_cast<int64_t>(chunks.size()), expected_chunks);
        std::sort(chunks.begin(), chunks.end());
        for (const auto& [begin, end] : chunks) {
          EXPECT_LT(begin, end);
          if (chunks.size() > 1) {
            EXPECT_GE(end - begin, g);
          }
        }
        ++combinations;
      }
    }
  }
  EXPECT_EQ(combinations, 6 * 13 * 9);
}

TEST_F(ThreadPoolTest, ChunksRunOnDistinctThreads) {
  for (int threads : {2, 3, 4}) {
    thread_pool().set_num_threads(threads);
    StartLatch latch(threads);
    std::mutex mu;
    std::set<std::thread::id> ids;
    thread_pool().parallel_for(threads, 1, [&](int64_t, int64_t) {
      {
        std::lock_guard<std::mutex> lock(mu);
        ids.insert(std::this_thread::get_id());
      }
      latch.arrive_and_wait();
    });
    EXPECT_EQ(static_cast<int>(ids.size()), threads);
  }
}

TEST_F(ThreadPoolTest, TheCallerRunsTheFirstChunk) {
  for (int threads : {2, 4}) {
    thread_pool().set_num_threads(threads);
    std::thread::id caller = std::this_thread::get_id();
    for (int iter = 0; iter < 200; ++iter) {
      std::atomic<int> first_chunk_on_caller{0};
      thread_pool().parallel_for(1000, 1, [&](int64_t begin, int64_t) {
        if (begin == 0 && std::this_thread::get_id() == caller) ++first_chunk_on_caller;
      });
      ASSERT_EQ(first_chunk_on_caller.load(), 1);
    }
  }
}

TEST_F(ThreadPoolTest, RunsInlineWhenSmallOrSingleThreaded) {
  std::thread::id caller = std::this_thread::get_id();
  for (int threads : {1, 4}) {
    thread_pool().set_num_threads(threads);
    int64_t n = threads == 1 ? 1000 : 64;
    int64_t grain = threads == 1 ? 1 : 64;  // n <= grain
    int calls = 0;
    thread_pool().parallel_for(n, grain, [&](int64_t begin, int64_t end) {
      ++calls;  // not atomic: must run on this thread only
      EXPECT_EQ(std::this_thread::get_id(), caller);
      EXPECT_EQ(begin, 0);
      EXPECT_EQ(end, n);
    });
    EXPECT_EQ(calls, 1);
  }
}

TEST_F(ThreadPoolTest, ManySmallLoopsStayCorrect) {
  // Races between a caller finishing early and a worker waking late show up here (and under
  // sanitizers): the job lives on the caller's stack.
  for (int threads : {2, 3, 4}) {
    thread_pool().set_num_threads(threads);
    for (int iter = 0; iter < 5000; ++iter) {
      std::atomic<int64_t> sum{0};
      int64_t n = 1 + iter % 37;
      thread_pool().parallel_for(n, 1, [&](int64_t begin, int64_t end) {
        for (int64_t i = begin; i < end; ++i) sum += i;
      });
      ASSERT_EQ(sum.load(), n * (n - 1) / 2) << "threads=" << threads << " iter=" << iter;
    }
  }
}

TEST_F(ThreadPoolTest, ConcurrentCallersFromSeveralThreadsAreAllCorrect) {
  thread_pool().set_num_threads(3);
  std::atomic<int> failures{0};
  std::vector<std::thread> callers;
  for (int c = 0; c < 3; ++c) {
    callers.emplace_back([&, c] {
      for (int iter = 0; iter < 2000; ++iter) {
        int64_t n = 100 + c + iter % 50;
        std::vector<std::atomic<int>> hits(static_cast<size_t>(n));
        thread_pool().parallel_for(n, 1, [&](int64_t begin, int64_t end) {
          for (int64_t i = begin; i < end; ++i) ++hits[static_cast<size_t>(i)];
        });
        for (auto& h : hits)
          if (h.load() != 1) ++failures;
      }
    });
  }
  for (std::thread& t : callers) t.join();
  EXPECT_EQ(failures.load(), 0);
}

struct TaskError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

TEST_F(ThreadPoolTest, ExceptionFromTheCallersChunkPropagates) {
  thread_pool().set_num_threads(4);
  std::thread::id caller = std::this_thread::get_id();
  EXPECT_THROW(thread_pool().parallel_for(4, 1,
                                          [&](int64_t, int64_t) {
                                            if (std::this_thread::get_id() == caller) throw TaskError("caller");
                                          }),
               TaskError);
}

TEST_F(ThreadPoolTest, ExceptionFromAWorkerPropagatesAfterEveryStartedChunkFinished) {
  thread_pool().set_num_threads(2);
  std::thread::id caller = std::this_thread::get_id();
  StartLatch latch(2);
  std::atomic<bool> caller_chunk_done{false};
  try {
    thread_pool().parallel_for(2, 1, [&](int64_t, int64_t) {
      latch.arrive_and_wait();
      if (std::this_thread::get_id() != caller) throw TaskError("worker");
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      caller_chunk_done = true;
    });
    ADD_FAILURE() << "expected TaskError";
  } catch (const TaskError& e) {
    EXPECT_STREQ(e.what(), "worker");
    EXPECT_TRUE(caller_chunk_done.load());
  }
  // The pool still works afterwards.
  std::atomic<int64_t> sum{0};
  thread_pool().parallel_for(100, 1, [&](int64_t b, int64_t e) { sum += e - b; });
  EXPECT_EQ(sum.load(), 100);
}

TEST_F(ThreadPoolTest, WhenEveryChunkThrowsExactlyOneExceptionComesOut) {
  thread_pool().set_num_threads(4);
  for (int iter = 0; iter < 200; ++iter) {
    std::atomic<int> calls{0};
    EXPECT_THROW(thread_pool().parallel_for(1000, 1,
                                            [&](int64_t, int64_t) {
                                              ++calls;
                                              throw TaskError("every");
                                            }),
                 TaskError);
    EXPECT_GE(calls.load(), 1);
    EXPECT_LE(calls.load(), 4);
  }
}

TEST_F(ThreadPoolTest, NestedParallelForRunsInlineWithoutDeadlock) {
  for (int threads : {2, 4}) {
    thread_pool().set_num_threads(threads);
    std::atomic<int> inner_calls{0};
    std::atomic<int64_t> covered{0};
    EXPECT_FALSE(ThreadPool::in_parallel_region());
    thread_pool().parallel_for(threads, 1, [&](int64_t, int64_t) {
      EXPECT_TRUE(ThreadPool::in_parallel_region());
      std::thread::id self = std::this_thread::get_id();
      thread_pool().parallel_for(1000, 1, [&](int64_t begin, int64_t end) {
        ++inner_calls;
        EXPECT_EQ(std::this_thread::get_id(), self);
        EXPECT_EQ(begin, 0);
        EXPECT_EQ(end, 1000);
        covered += end - begin;
        // Deeper still.
        thread_pool().parallel_for(10, 1, [&](int64_t b, int64_t e) { covered += e - b; });
      });
    });
    EXPECT_FALSE(ThreadPool::in_parallel_region());
    EXPECT_EQ(inner_calls.load(), threads);
    EXPECT_EQ(covered.load(), threads * 1010);
  }
}

TEST_F(ThreadPoolTest, SetNumThreadsRejectsBadCalls) {
  EXPECT_THROW(thread_pool().set_num_threads(0), std::invalid_argument);
  EXPECT_THROW(thread_pool().set_num_threads(-3), std::invalid_argument);
  thread_pool().set_num_threads(2);
  std::atomic<int> rejected{0};
  thread_pool().parallel_for(2, 1, [&](int64_t, int64_t) {
    try {
      thread_pool().set_num_threads(3);
    } catch (const std::logic_error&) {
      ++rejected;
    }
  });
  EXPECT_EQ(rejected.load(), 2);
  EXPECT_EQ(thread_pool().num_threads(), 2);
}

TEST_F(ThreadPoolTest, IdleWorkersBlockInsteadOfSpinning) {
  thread_pool().set_num_threads(4);
  std::atomic<int64_t> sum{0};
  thread_pool().parallel_for(4, 1, [&](int64_t b, int64_t e) { sum += e - b; });
  ASSERT_EQ(sum.load(), 4);
  double cpu_before = process_cpu_seconds();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  double cpu_used = process_cpu_seconds() - cpu_before;
  // Three spinning workers would burn ~0.9 s of CPU here (0.3 s even sharing one core). The margin
  // leaves room for other threads of the process (OpenBLAS's poll for a while after a call).
  EXPECT_LT(cpu_used, 0.15) << "idle workers used " << cpu_used << " s of CPU in 0.3 s";
}

TEST_F(ThreadPoolTest, ConfigureBlasThreadsMatchesThePoolAndFollowsResizes) {
  thread_pool().set_num_threads(3);
  kiln::runtime::configure_blas_threads();
  EXPECT_EQ(openblas_get_num_threads(), 3);
  thread_pool().set_num_threads(2);
  EXPECT_EQ(openblas_get_num_threads(), 2);
}

TEST(ThreadPoolEnvironment, KilnNumThreadsIsReadOnceAtFirstUse) {
  for (int n : {1, 3, 5}) {
    kiln::testing::ChildResult r = kiln::testing::run_env_probe("threads", {{"KILN_NUM_THREADS", std::to_string(n)}});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    std::string want = "num_threads=" + std::to_string(n) + " distinct=" + std::to_string(n) +
                       " after_setenv=" + std::to_string(n) + " blas=" + std::to_string(n) + "\n";
    EXPECT_EQ(r.out, want);
  }
}

TEST(ThreadPoolEnvironment, DefaultsToEveryUsableHardwareThread) {
  int cpus = affinity_cpus();
  std::string want = "num_threads=" + std::to_string(cpus) + " distinct=" + std::to_string(cpus) +
                     " after_setenv=" + std::to_string(cpus) + " blas=" + std::to_string(cpus) + "\n";
  kiln::testing::ChildResult unset = kiln::testing::run_env_probe("threads", {{"KILN_NUM_THREADS", std::nullopt}});
  ASSERT_EQ(unset.exit_code, 0) << unset.out;
  EXPECT_EQ(unset.out, want);
  // Values that are not a positive integer are ignored (with a warning on stderr).
  for (const char* bad : {"0", "-2", "abc", "3x", ""}) {
    kiln::testing::ChildResult r = kiln::testing::run_env_probe("threads", {{"KILN_NUM_THREADS", bad}});
    ASSERT_EQ(r.exit_code, 0) << r.out;
    EXPECT_EQ(r.out, want) << "KILN_NUM_THREADS=" << bad;
  }
}

// Not a pass/fail benchmark (machines are shared), but a gross regression -- a worker wake-up
// the caller must wait for on every call, a sleep, a thread start -- shows up as hundreds of us.
TEST_F(ThreadPoolTest, EmptyParallelForCostsAFewMicroseconds) {
  thread_pool().set_num_threads(2);
  auto empty = [](int64_t, int64_t) {};
  const std::function<void(int64_t, int64_t)> fn = empty;
  constexpr int kCalls = 20000;
  double best_pool_us = 1e9;
  for (int batch = 0; batch < 5; ++batch) {
    auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kCalls; ++i) thread_pool().parallel_for(2, 1, fn);  // two chunks: uses the pool
    std::chrono::duration<double, std::micro> took = std::chrono::steady_clock::now() - start;
    best_pool_us = std::min(best_pool_us, took.count() / kCalls);
  }
  // Cold: the worker went back to sleep before each call, so each call pays for waking it (the
  // usual case when a program does other work between loops, since idle workers never spin).
  constexpr int kColdCalls = 500;
  double cold_total_us = 0;
  for (int i = 0; i < kColdCalls; ++i) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    auto start = std::chrono::steady_clock::now();
    thread_pool().parallel_for(2, 1, fn);
    cold_total_us += std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count();
  }
  double cold_us = cold_total_us / kColdCalls;
  auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < kCalls; ++i) thread_pool().parallel_for(16, 1024, fn);  // n <= grain: inline
  std::chrono::duration<double, std::micro> inline_took = std::chrono::steady_clock::now() - start;
  double inline_us = inline_took.count() / kCalls;
  std::printf("empty parallel_for on 2 threads: %.2f us back to back, %.2f us with the worker asleep, %.3f us inline\n",
              best_pool_us, cold_us, inline_us);
  RecordProperty("empty_parallel_for_us", std::to_string(best_pool_us));
  RecordProperty("empty_parallel_for_cold_us", std::to_string(cold_us));
  EXPECT_LT(cold_us, 200.0);
  EXPECT_LT(best_pool_us, 50.0);
  EXPECT_LT(inline_us, 1.0);
}

}  // namespace
