#include "distributed/mpi_runtime.h"

#include <mpi.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <thread>
#include <utility>

#include "distributed/mpi_check.h"

namespace tally::dist::mpi {
namespace {

// How long exit waits for the MPI thread to drain its queue and finalise. A task stuck in a
// collective whose peer died would hold exit forever; past this the process ends unfinalised,
// which mpirun reports.
constexpr std::chrono::seconds kFinalizeWait{10};

class Runtime {
 public:
  Runtime() : thread_([this] { run(); }) {}

  std::shared_ptr<Completion> post(std::function<void()> task) {
    auto completion = std::make_shared<Completion>();
    {
      std::lock_guard lock(mutex_);
      queue_.emplace_back(std::move(task), completion);
    }
    posted_.notify_one();
    return completion;
  }

  World world;
  std::atomic<bool> running{false};  // MPI_Init done and MPI_Finalize not begun: abort may run
  bool finalize = false;             // MPI was started here, so it is finished here

 private:
  void run() {
    for (;;) {
      std::pair<std::function<void()>, std::shared_ptr<Completion>> item;
      {
        std::unique_lock lock(mutex_);
        posted_.wait(lock, [this] { return !queue_.empty(); });
        item = std::move(queue_.front());
        queue_.pop_front();
      }
      std::exception_ptr error;
      try {
        item.first();
      } catch (...) {
        error = std::current_exception();
      }
      // What the task holds (a tensor's storage) goes before its waiter wakes, so that the
      // caller, not this thread at some later moment, drops the last reference.
      item.first = nullptr;
      item.second->finish(error);
    }
  }

  std::mutex mutex_;
  std::condition_variable posted_;
  std::deque<std::pair<std::function<void()>, std::shared_ptr<Completion>>> queue_;
  std::thread thread_;
};

void start(Runtime& r) {
  int initialized = 0;
  MPI_CHECK(MPI_Initialized(&initialized));
  if (!initialized) {
    int provided = 0;
    MPI_CHECK(MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided));
    r.finalize = true;
  }
  // Errors come back as codes, which MPI_CHECK throws, instead of ending the process unexplained.
  MPI_CHECK(MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN));
  MPI_CHECK(MPI_Query_thread(&r.world.thread_level));
  MPI_CHECK(MPI_Comm_rank(MPI_COMM_WORLD, &r.world.rank));
  MPI_CHECK(MPI_Comm_size(MPI_COMM_WORLD, &r.world.size));
  MPI_Comm node = MPI_COMM_NULL;
  MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, r.world.rank, MPI_INFO_NULL,
                                &node));
  MPI_CHECK(MPI_Comm_rank(node, &r.world.local_rank));
  MPI_CHECK(MPI_Comm_free(&node));
  r.running = true;
}

Runtime& runtime();
// Set once MPI has started here, for abort_world, which must not start it.
std::atomic<const Runtime*> started{nullptr};

void finish_at_exit() {
  Runtime& r = runtime();
  auto done = r.post([&r] {
    r.running = false;
    if (r.finalize) MPI_CHECK(MPI_Finalize());
  });
  try {
    done->wait("MPI_Finalize at exit", kFinalizeWait);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "tally: %s\n", e.what());
  }
}

// Never destroyed, like its thread: tasks may still be queued when static destructors run.
Runtime& runtime() {
  static Runtime* instance = [] {
    auto* r = new Runtime;
    r->post([r] { start(*r); })->wait("MPI_Init_thread", std::chrono::hours(1));
    std::atexit(finish_at_exit);
    started = r;
    return r;
  }();
  return *instance;
}

}  // namespace

bool launched() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK", "PMI_SIZE"}) {
    if (std::getenv(name)) return true;
  }
  return false;
}

const World& world() {
  return runtime().world;
}

void Completion::finish(std::exception_ptr error) {
  {
    std::lock_guard lock(mutex_);
    done_ = true;
    error_ = std::move(error);
  }
  finished_.notify_all();
}

void Completion::wait(const std::string& what, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mutex_);
  if (!finished_.wait_for(lock, timeout, [this] { return done_; })) {
    throw Error(ErrorKind::device, what, "timeout",
                what + " timed out after " + std::to_string(timeout.count()) + " ms");
  }
  if (error_) std::rethrow_exception(error_);
}

std::shared_ptr<Completion> post(std::function<void()> task) {
  return runtime().post(std::move(task));
}

void abort_world(int status) {
  // Read without starting MPI: a process that never used it has no world to end. Only MPI_Abort
  // itself is called from this thread.
  const Runtime* r = started.load();
  if (r && r->running.load() && r->world.size > 1) MPI_Abort(MPI_COMM_WORLD, status);
}

std::string library_version() {
  char text[MPI_MAX_LIBRARY_VERSION_STRING];
  int length = 0;
  if (MPI_Get_library_version(text, &length) != MPI_SUCCESS) return "unknown MPI";
  std::string version(text, static_cast<std::size_t>(length));
  return version.substr(0, version.find_first_of(",\n"));
}

}  // namespace tally::dist::mpi
