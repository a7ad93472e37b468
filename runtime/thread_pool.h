// The one process-wide thread pool that runs all of Kiln's parallel CPU work.
//
// Threading policy (why there is exactly one pool, and how it shares the machine with OpenBLAS):
// - One set of threads is busy at a time. Kiln's own kernels run on this pool; matrix products run
//   in OpenBLAS, called from the calling thread *outside* any parallel_for, while the pool is idle.
//   OpenBLAS then uses its own threads, as many as the pool has (configure_blas_threads()).
//   (OpenBLAS's own workers poll for a while after each call before they sleep; the environment
//   variable OPENBLAS_THREAD_TIMEOUT shortens that if a Kiln loop right after a BLAS call suffers.)
// - Idle workers block on a condition variable; they never spin. A spinning worker would steal a
//   core from OpenBLAS's threads (or from the user's) exactly when those need it.
// - Never call BLAS from inside a parallel_for task: every task would start a full set of BLAS
//   threads (num_threads^2 runnable threads). Inside a task, nested parallel_for calls run inline.
// - Size: every hardware thread this process may run on, unless the environment variable
//   KILN_NUM_THREADS (a positive integer, read once, at first use) says otherwise;
//   set_num_threads() changes it between calls.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln::runtime {

class ThreadPool {
 public:
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  // Threads that run a parallel_for, the calling thread included (>= 1).
  int num_threads() const { return num_threads_.load(std::memory_order_relaxed); }

  // Resizes the pool (`n` >= 1; the calling thread counts as one). Call it between parallel_for
  // calls, never concurrently with one or from inside a task (throws std::logic_error then).
  // If configure_blas_threads() was called before, OpenBLAS is resized to match.
  void set_num_threads(int n);

  // Runs fn(begin, end) over [0, n) split into at most num_threads() contiguous chunks of at least
  // `grain` items each (grain < 1 counts as 1), and returns when every chunk is done. The calling
  // thread runs the first chunk, then any chunk no worker has claimed yet, so tiny work never waits
  // for a worker to wake up. Runs fn(0, n) inline when n <= grain, when num_threads() == 1, when
  // called from inside a task (nested parallelism would only oversubscribe), or when another
  // thread's parallel_for is using the pool. Does nothing when n <= 0. If tasks throw, unstarted
  // chunks are skipped, and the first exception is rethrown here once all started chunks finished.
  void parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t begin, int64_t end)>& fn);

  // True on a thread that is running a parallel_for task (worker or caller).
  static bool in_parallel_region();

 private:
  struct Job;
  friend ThreadPool& thread_pool();

  explicit ThreadPool(int num_threads);
  ~ThreadPool();
  void start_workers(int count);
  void stop_workers();
  void worker_loop(uint64_t seen);  // `seen`: the last generation this worker need not run
  static void run_chunk(Job& job, int64_t i);
  static void run_chunks(Job& job, bool is_caller);  // the caller runs chunk 0, then everyone claims

  std::mutex mu_;
  std::condition_variable work_cv_;  // workers wait here for a new generation_ (or stop_)
  std::condition_variable done_cv_;  // callers wait here for their job's workers to leave it
  Job* job_ = nullptr;               // the job workers may join now, guarded by mu_
  uint64_t generation_ = 0;          // bumped for each published job, guarded by mu_
  bool stop_ = false;                // guarded by mu_
  std::atomic<int> num_threads_;     // written only by set_num_threads, between calls
  std::vector<std::thread> workers_;
};

// The process-wide pool, created on first use. It is never destroyed (workers stay blocked until
// the process exits), so Kiln may run parallel work from static destructors too.
ThreadPool& thread_pool();

// Sets OpenBLAS's thread count to thread_pool().num_threads() (see the policy above).
void configure_blas_threads();

}  // namespace kiln::runtime
