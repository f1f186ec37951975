// MPI, started once on first use and finished at exit, and the one thread that makes every MPI
// call. MPI is asked for MPI_THREAD_MULTIPLE but tally needs no more than MPI_THREAD_FUNNELED:
// the thread that initialises MPI makes every later call too (MPI_Abort aside, which MPI allows
// from anywhere once it runs), so whatever level MPI grants is enough. Compiled only with MPI.
#pragma once

#include <chrono>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>

namespace tally::dist::mpi {

// Whether a launcher (mpirun, or srun through PMI/PMIx) started this process. A process started
// alone runs without MPI: it is a world of one and needs no launcher's daemon.
bool launched();

struct World {
  int rank = 0;
  int size = 1;
  int local_rank = 0;    // among the ranks that share this machine's memory
  int thread_level = 0;  // what MPI_Init_thread granted
};

// The world, with MPI started on the MPI thread if it is not yet running. When no launcher
// started the process, MPI starts as a world of one (a singleton).
const World& world();

// What a task posted to the MPI thread came to. Shared between the poster and the thread, so that
// either may go first, and waited on from any thread, any number of times.
class Completion {
 public:
  void finish(std::exception_ptr error);
  // Returns once the task has run, rethrowing what it threw. Throws a device error "<what> timed
  // out after N ms" when `timeout`, counted from this call, passes first; the task stays queued
  // or running, and a later wait may still see it finish.
  void wait(const std::string& what, std::chrono::milliseconds timeout) const;

 private:
  mutable std::mutex mutex_;
  mutable std::condition_variable finished_;
  bool done_ = false;
  std::exception_ptr error_;
};

// Queues `task` for the MPI thread, which runs the tasks one at a time in the order they were
// posted (so that every rank makes its MPI calls in the order it issued them). Starts MPI first.
// Whatever `task` throws goes to the Completion. A task that never returns (a collective whose
// peer died) holds up every task behind it: waits time out, and abort_world ends the job.
std::shared_ptr<Completion> post(std::function<void()> task);

// MPI_Abort on the world when MPI runs with more than one rank; otherwise returns.
void abort_world(int status);

// MPI_Get_library_version's first line, up to its first comma ("Open MPI v4.1.4"): MPI allows it
// before MPI starts, on any thread.
std::string library_version();

}  // namespace tally::dist::mpi
