#include "ops/parallel.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#include "ops/threads.h"

namespace tally::ops {
namespace {

// Set on the pool's workers, and on a caller while it runs its job: a parallel_for inside a
// chunk runs inline rather than waiting on a pool that is busy with the chunk itself.
thread_local bool in_parallel = false;

// How many times an idle worker looks for the next job, yielding in between, before it sleeps:
// some tens of microseconds, in which the next op of a step usually starts. A yield lets
// OpenBLAS's threads have the core meanwhile, as a pause-loop would not. Measured on 2 cores
// (bench/train_step_bench, gpt-tiny and cnn at 2 threads), 100 beat both sleeping at once and
// 2000 or more, which made the step up to a sixth slower by holding the core OpenBLAS needs.
constexpr int kSpins = 100;

// The pool's largest size, so the most chunks a job has: the job's state holds chunk indices in
// 16 bits.
constexpr int kMaxChunks = 1024;

// The job's progress in one word, so that a worker claims a chunk only of the job it woke for:
// generation (32 bits), chunk count (16) and next unclaimed chunk (16).
static_assert(kMaxChunks <= 0xffff);
constexpr std::uint64_t pack(std::uint32_t generation, std::uint64_t chunks, std::uint64_t next) {
  return (std::uint64_t{generation} << 32) | (chunks << 16) | next;
}
constexpr std::uint32_t generation_of(std::uint64_t s) {
  return static_cast<std::uint32_t>(s >> 32);
}
constexpr std::uint64_t chunks_of(std::uint64_t s) {
  return (s >> 16) & 0xffff;
}
constexpr std::uint64_t next_of(std::uint64_t s) {
  return s & 0xffff;
}

class Pool {
 public:
  // Sized from ops::num_threads() when first used; set_num_threads() resizes it.
  static Pool& instance() {
    // Never destroyed: a worker may still be waiting when static destructors run.
    static Pool* pool = new Pool(num_threads());
    return *pool;
  }

  explicit Pool(int threads) { start(threads); }

  void resize(int threads) {
    std::lock_guard<std::mutex> job(submit_);
    if (threads == threads_) return;
    stop();
    start(threads);
  }

  void run(std::int64_t n, std::int64_t grain, detail::ChunkFn fn, void* context) {
    std::unique_lock<std::mutex> job(submit_, std::try_to_lock);
    // Another thread's job, a nested call, or one thread: inline, which gives the same results.
    const std::int64_t chunks =
        job && !in_parallel ? std::min<std::int64_t>(threads_, n / grain) : 1;
    if (chunks <= 1) {
      if (job) job.unlock();
      fn(context, 0, n);
      return;
    }
    fn_ = fn;
    context_ = context;
    n_ = n;
    std::fill(errors_.begin(), errors_.begin() + chunks, nullptr);
    finished_.store(0, std::memory_order_relaxed);
    const std::uint32_t generation = ++generation_;
    state_.store(pack(generation, static_cast<std::uint64_t>(chunks), 0));
    // Sleepers registered before this store are woken; later ones see the new state first.
    if (sleepers_.load() > 0) {
      { std::lock_guard<std::mutex> lock(sleep_); }
      wake_.notify_all();
    }
    in_parallel = true;
    claim_chunks(generation);
    in_parallel = false;
    while (finished_.load(std::memory_order_acquire) < chunks) std::this_thread::yield();
    for (std::int64_t i = 0; i < chunks; ++i) {
      if (errors_[i]) std::rethrow_exception(errors_[i]);
    }
  }

 private:
  void start(int threads) {
    threads_ = std::clamp(threads, 1, kMaxChunks);
    errors_.assign(static_cast<std::size_t>(threads_), nullptr);
    stopping_ = false;
    for (int i = 1; i < threads_; ++i) workers_.emplace_back([this] { work(); });
  }

  void stop() {
    {
      std::lock_guard<std::mutex> lock(sleep_);
      stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& t : workers_) t.join();
    workers_.clear();
  }

  // Runs chunks of job `generation` until none is left unclaimed.
  void claim_chunks(std::uint32_t generation) {
    std::uint64_t s = state_.load(std::memory_order_acquire);
    while (generation_of(s) == generation && next_of(s) < chunks_of(s)) {
      if (!state_.compare_exchange_weak(s, s + 1, std::memory_order_acq_rel)) continue;
      // Claimed: the job's fields stay as they are until this chunk is counted finished.
      const std::int64_t chunks = static_cast<std::int64_t>(chunks_of(s));
      const std::int64_t i = static_cast<std::int64_t>(next_of(s));
      try {
        fn_(context_, n_ * i / chunks, n_ * (i + 1) / chunks);
      } catch (...) {
        errors_[static_cast<std::size_t>(i)] = std::current_exception();
      }
      finished_.fetch_add(1, std::memory_order_release);
      s = state_.load(std::memory_order_acquire);
    }
  }

  void work() {
    in_parallel = true;
    std::uint32_t seen = generation_of(state_.load());
    while (true) {
      std::uint64_t s = state_.load(std::memory_order_acquire);
      for (int spin = 0; spin < kSpins && generation_of(s) == seen && !stopping_; ++spin) {
        std::this_thread::yield();
        s = state_.load(std::memory_order_acquire);
      }
      if (generation_of(s) == seen) {
        std::unique_lock<std::mutex> lock(sleep_);
        sleepers_.fetch_add(1);
        wake_.wait(lock, [&] { return stopping_ || generation_of(state_.load()) != seen; });
        sleepers_.fetch_sub(1);
        if (stopping_) return;
        s = state_.load(std::memory_order_acquire);
      }
      seen = generation_of(s);
      claim_chunks(seen);
    }
  }

  std::mutex submit_;  // one job at a time
  int threads_ = 1;
  std::vector<std::thread> workers_;

  // The current job, written by its caller before it publishes the job's state.
  detail::ChunkFn fn_ = nullptr;
  void* context_ = nullptr;
  std::int64_t n_ = 0;
  std::vector<std::exception_ptr> errors_;  // per chunk
  std::uint32_t generation_ = 0;
  std::atomic<std::uint64_t> state_{0};
  std::atomic<std::int64_t> finished_{0};

  std::mutex sleep_;
  std::condition_variable wake_;
  std::atomic<int> sleepers_{0};
  std::atomic<bool> stopping_{false};
};

}  // namespace

namespace detail {

void run_parallel(std::int64_t n, std::int64_t grain, ChunkFn fn, void* context) {
  Pool::instance().run(n, grain, fn, context);
}

void resize_pool(int threads) {
  Pool::instance().resize(threads);
}

}  // namespace detail

}  // namespace tally::ops
