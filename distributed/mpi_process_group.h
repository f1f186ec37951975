// The process group of cpu tensors over MPI: every rank mpirun started, one per process.
// Compiled only with MPI.
//
// Every MPI call runs on the MPI thread (distributed/mpi_runtime.h), one collective at a time in
// issue order. That thread is what overlaps communication with the caller's computation: MPI
// libraries such as Open MPI progress a non-blocking collective only inside MPI calls, so one
// started and left alone would not move until its wait.
//
// Dtypes: f32, i32, i64, and f16 and bf16, which are summed in float, pair by pair, and rounded
// back to 16 bits after each addition, through a user-defined MPI operation. Average is the sum
// divided by size() on the MPI thread, in float for the 16-bit types and truncating for integers.
//
// Timeouts count from the call to Work::wait (or to the blocking call), not from the issue: a
// collective queued behind slow ones is not failed for waiting its turn. A timed-out collective
// stays queued or running; the job is then expected to end through abort_world.
//
// Thread safety: issue collectives from one thread (every rank must issue the same collectives in
// the same order). A Work may be waited on from any thread, more than once, and after the group
// is gone; it keeps its tensor's storage alive (the last handle dropped frees it on the caller's
// thread, unless both the tensor and the Work were dropped before the collective ran).
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "distributed/process_group.h"

namespace tally::dist {

class MpiProcessGroup : public ProcessGroup {
 public:
  // Every rank of MPI_COMM_WORLD; starts MPI if it is not running.
  explicit MpiProcessGroup(std::chrono::milliseconds timeout);
  std::string backend() const override { return "mpi"; }

  std::unique_ptr<Work> all_reduce(const Tensor& tensor, ReduceOp op) override;
  std::unique_ptr<Work> reduce_scatter(const Tensor& buffer, ReduceOp op) override;
  std::unique_ptr<Work> all_gather(const Tensor& buffer) override;
  void broadcast(const Tensor& tensor, int root) override;
  void barrier() override;
  // Every rank must pass as many values.
  std::vector<double> sum_on_host(std::vector<double> values) override;

 private:
  // "all_reduce of f32[4] on cpu (rank 0 of 2)": what a timeout or failure names.
  std::string name(const char* what, const Tensor& tensor) const;
  // The Work of `task`, posted to the MPI thread; it holds `tensor` (may be undefined).
  std::unique_ptr<Work> issue(std::string what, const Tensor& tensor, std::function<void()> task);
};

}  // namespace tally::dist
