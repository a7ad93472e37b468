#include "runtime/thread_pool.h"

#include <cblas.h>  // openblas_set_num_threads (the pthread flavour's header, through @openblas)
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <stdexcept>
#include <string>

#if defined(__linux__)
#include <pthread.h>
#endif

namespace kiln::runtime {

namespace {

// Set while this thread runs chunks of a job: nested parallel_for calls then run inline, because
// every thread of the pool is already busy with the outer loop.
thread_local bool t_in_task = false;

// Whether configure_blas_threads() ran, so set_num_threads() keeps OpenBLAS the same size.
std::atomic<bool> g_blas_configured{false};

// How long a caller spins for the workers that joined its job before it blocks. Only the caller
// spins, only while its own chunks are finishing on other cores; idle workers always block.
constexpr int kCallerSpins = 4000;

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

int hardware_threads() {
#if defined(__linux__)
  // The CPUs this process may run on (respects taskset and container cpusets), which can be fewer
  // than the machine has.
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int n = CPU_COUNT(&set);
    if (n > 0) return n;
  }
#endif
  return std::max(1u, std::thread::hardware_concurrency());
}

int initial_threads() {
  int fallback = hardware_threads();
  const char* env = std::getenv("KILN_NUM_THREADS");
  if (env == nullptr || *env == '\0') return fallback;
  char* end = nullptr;
  errno = 0;
  long n = std::strtol(env, &end, 10);
  constexpr long kMaxThreads = 4096;  // more is surely a typo, and would exhaust the process
  if (errno != 0 || *end != '\0' || n < 1 || n > kMaxThreads) {
    std::fprintf(stderr, "kiln: ignoring KILN_NUM_THREADS=\"%s\" (want an integer in [1, %ld]); using %d threads\n",
                 env, kMaxThreads, fallback);
    return fallback;
  }
  return static_cast<int>(n);
}

// Restores t_in_task on every exit path, exceptions included.
class TaskScope {
 public:
  TaskScope() : saved_(t_in_task) { t_in_task = true; }
  ~TaskScope() { t_in_task = saved_; }

 private:
  bool saved_;
};

}  // namespace

struct ThreadPool::Job {
  const std::function<void(int64_t, int64_t)>* fn;
  int64_t chunks;  // [0, n) splits into chunks of base or base + 1 items; the first rem get + 1
  int64_t base;
  int64_t rem;
  std::atomic<int64_t> next{1};  // the next unclaimed chunk; chunk 0 is the caller's
  std::atomic<int> refs{0};      // workers inside run_chunks for this job; it lives on the caller's stack
  std::mutex error_mu;
  std::exception_ptr error;  // the first exception a chunk threw
};

ThreadPool::ThreadPool(int num_threads) : num_threads_(num_threads) { start_workers(num_threads - 1); }

ThreadPool::~ThreadPool() { stop_workers(); }

void ThreadPool::start_workers(int count) {
  uint64_t generation;
  {
    std::lock_guard<std::mutex> lock(mu_);
    generation = generation_;
  }
  // A new thread may first run after the next job was published: it must still see that job as
  // new, so it starts from the generation current now, not from the one it finds when it starts.
  workers_.reserve(count);
  for (int i = 0; i < count; ++i) workers_.emplace_back([this, generation] { worker_loop(generation); });
}

void ThreadPool::stop_workers() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  work_cv_.notify_all();
  for (std::thread& t : workers_) t.join();
  workers_.clear();
  std::lock_guard<std::mutex> lock(mu_);
  stop_ = false;
}

void ThreadPool::set_num_threads(int n) {
  if (n < 1) throw std::invalid_argument("ThreadPool::set_num_threads: want n >= 1, got " + std::to_string(n));
  if (t_in_task) throw std::logic_error("ThreadPool::set_num_threads: called from inside a parallel_for task");
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (job_ != nullptr) throw std::logic_error("ThreadPool::set_num_threads: called during a parallel_for");
  }
  if (n != num_threads_) {
    stop_workers();
    num_threads_ = n;
    start_workers(n - 1);
  }
  if (g_blas_configured.load()) openblas_set_num_threads(n);
}

bool ThreadPool::in_parallel_region() { return t_in_task; }

void ThreadPool::run_chunk(Job& job, int64_t i) {
  int64_t begin = i * job.base + std::min(i, job.rem);
  int64_t end = begin + job.base + (i < job.rem ? 1 : 0);
  try {
    (*job.fn)(begin, end);
  } catch (...) {
    std::lock_guard<std::mutex> lock(job.error_mu);
    if (!job.error) job.error = std::current_exception();
    job.next.store(job.chunks, std::memory_order_relaxed);  // skip the chunks nobody started
  }
}

void ThreadPool::run_chunks(Job& job, bool is_caller) {
  TaskScope scope;
  if (is_caller) run_chunk(job, 0);
  for (;;) {
    int64_t i = job.next.fetch_add(1, std::memory_order_relaxed);
    if (i >= job.chunks) return;
    run_chunk(job, i);
  }
}

void ThreadPool::worker_loop(uint64_t seen) {
#if defined(__linux__)
  pthread_setname_np(pthread_self(), "kiln-worker");
#endif
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    work_cv_.wait(lock, [&] { return stop_ || generation_ != seen; });
    if (stop_) return;
    seen = generation_;
    Job* job = job_;
    if (job == nullptr) continue;  // woke after its caller finished every chunk itself
    // Taken under mu_: once the caller has cleared job_ (under mu_), no new reference can appear,
    // so refs == 0 tells it the job is no longer touched.
    job->refs.fetch_add(1, std::memory_order_relaxed);
    lock.unlock();
    run_chunks(*job, /*is_caller=*/false);
    bool last = job->refs.fetch_sub(1, std::memory_order_acq_rel) == 1;  // `job` may be gone after this
    lock.lock();
    if (last) done_cv_.notify_all();
  }
}

void ThreadPool::parallel_for(int64_t n, int64_t grain, const std::function<void(int64_t, int64_t)>& fn) {
  if (n <= 0) return;
  grain = std::max<int64_t>(grain, 1);
  int threads = num_threads_.load(std::memory_order_relaxed);
  int64_t chunks = std::min<int64_t>(threads, n / grain);  // each chunk then has >= grain items
  if (chunks <= 1 || t_in_task) {
    fn(0, n);
    return;
  }
  Job job;
  job.fn = &fn;
  job.chunks = chunks;
  job.base = n / chunks;
  job.rem = n % chunks;
  int workers = -1;  // stays -1 if another thread's job holds the pool
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (job_ == nullptr) {
      job_ = &job;
      ++generation_;
      workers = static_cast<int>(workers_.size());
    }
  }
  if (workers < 0) {
    fn(0, n);  // another thread's loop owns the workers; running inline beats waiting for it
    return;
  }
  int64_t wake = std::min<int64_t>(chunks - 1, workers);  // one per chunk beyond the caller's
  if (wake >= workers) {
    work_cv_.notify_all();
  } else {
    for (int64_t i = 0; i < wake; ++i) work_cv_.notify_one();
  }
  run_chunks(job, /*is_caller=*/true);
  {
    std::lock_guard<std::mutex> lock(mu_);
    job_ = nullptr;
  }
  for (int i = 0; i < kCallerSpins && job.refs.load(std::memory_order_acquire) != 0; ++i) cpu_relax();
  if (job.refs.load(std::memory_order_acquire) != 0) {
    std::unique_lock<std::mutex> lock(mu_);
    done_cv_.wait(lock, [&] { return job.refs.load(std::memory_order_acquire) == 0; });
  }
  if (job.error) std::rethrow_exception(job.error);
}

ThreadPool& thread_pool() {
  // Never destroyed: workers blocked at exit cost nothing, and joining them from a static
  // destructor could race with other static destructors that still use the pool.
  static ThreadPool* pool = new ThreadPool(initial_threads());
  return *pool;
}

void configure_blas_threads() {
  g_blas_configured.store(true);
  openblas_set_num_threads(thread_pool().num_threads());
}

}  // namespace kiln::runtime
