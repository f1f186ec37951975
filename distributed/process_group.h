// ProcessGroup: the ranks of a data-parallel job and the collectives between them, as
// torch.distributed names them. Every collective works in place on one contiguous tensor of the
// group's device and allocates nothing from tally's allocator, so a rank's memory is the same
// whichever backend moves the bytes (and sim, which moves none, predicts it exactly). What a
// backend allocates for itself (MPI's and NCCL's internal buffers) is outside the allocator.
//
// Collectives are asynchronous: each returns a Work, and a group runs its collectives in the
// order they were issued (on the CPU, on the group's communication thread; on a GPU, on the
// device's communication stream). A wait that outlasts the group's timeout throws a device error
// naming the collective, so that a rank whose peer has died fails instead of hanging.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "core/tensor.h"

namespace tally::dist {

enum class ReduceOp { sum, average };

// A collective in flight.
class Work {
 public:
  virtual ~Work() = default;
  // Returns once the caller may use the result: on the CPU when the bytes are there, on a GPU
  // once the device's compute stream is ordered after the collective. Throws a device error when
  // the group's timeout passes first, or when the collective failed.
  virtual void wait() = 0;
};

// A Work that was complete when it was made.
class CompletedWork : public Work {
 public:
  void wait() override {}
};

class ProcessGroup {
 public:
  ProcessGroup(int rank, int size, int local_rank, std::chrono::milliseconds timeout);
  virtual ~ProcessGroup() = default;
  ProcessGroup(const ProcessGroup&) = delete;
  ProcessGroup& operator=(const ProcessGroup&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  // The rank's index among the ranks on its machine: the GPU it uses.
  int local_rank() const { return local_rank_; }
  std::chrono::milliseconds timeout() const { return timeout_; }
  // "mpi", "nccl" or "local".
  virtual std::string backend() const = 0;

  // Every rank's `tensor` reduced into each rank's `tensor`.
  virtual std::unique_ptr<Work> all_reduce(const Tensor& tensor, ReduceOp op) = 0;
  // `buffer` is size() equal chunks. Afterwards chunk rank() holds the reduction of every rank's
  // chunk rank(); the other chunks hold nothing useful. (NCCL's in-place reduce-scatter.)
  virtual std::unique_ptr<Work> reduce_scatter(const Tensor& buffer, ReduceOp op) = 0;
  // `buffer` is size() equal chunks. Afterwards chunk r holds rank r's chunk r, on every rank.
  // (NCCL's in-place all-gather.)
  virtual std::unique_ptr<Work> all_gather(const Tensor& buffer) = 0;
  // Rank `root`'s `tensor` into every rank's `tensor`; returns when it is there.
  virtual void broadcast(const Tensor& tensor, int root) = 0;
  // Returns once every rank has entered it.
  virtual void barrier() = 0;
  // Host values summed over the ranks, element by element (losses and counts for reporting).
  virtual std::vector<double> sum_on_host(std::vector<double> values) = 0;

 protected:
  // A usage error unless `t` is defined, contiguous and on `device`, and, when `chunks` > 1,
  // holds a multiple of `chunks` elements. `what` names the collective.
  static void check_tensor(const Tensor& t, Device device, const char* what, int chunks = 1);

 private:
  int rank_;
  int size_;
  int local_rank_;
  std::chrono::milliseconds timeout_;
};

// A group whose collectives move no bytes: a world of one on any device (every rank already
// holds the result), or rank `rank` of `size` on sim, whose tensors hold no data. Simulating one
// rank of a larger job this way allocates exactly what that rank would.
class LocalProcessGroup : public ProcessGroup {
 public:
  LocalProcessGroup(Device device, int rank = 0, int size = 1);
  std::string backend() const override { return "local"; }
  std::unique_ptr<Work> all_reduce(const Tensor& tensor, ReduceOp op) override;
  std::unique_ptr<Work> reduce_scatter(const Tensor& buffer, ReduceOp op) override;
  std::unique_ptr<Work> all_gather(const Tensor& buffer) override;
  void broadcast(const Tensor& tensor, int root) override;
  void barrier() override {}
  std::vector<double> sum_on_host(std::vector<double> values) override;

 private:
  Device device_;
};

}  // namespace tally::dist
