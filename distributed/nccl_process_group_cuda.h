// The process group of cuda tensors over NCCL: one rank per GPU. Compiled only with CUDA and NCCL.
//
// Rank 0 makes NCCL's unique id and MPI broadcasts it (without a launcher the world is this one
// process); each rank then makes `device` current and joins the communicator.
//
// Ordering, as PyTorch's ProcessGroupNCCL: a collective runs on the device's communication
// stream, after everything queued on the compute stream when it was issued (an event recorded
// there); Work::wait makes the compute stream wait for the collective's own event and returns
// without blocking the host. The tensor's storage is recorded on the communication stream, so
// that its block is not reused while the collective may still read or write it.
//
// Timeouts: Work::wait never blocks the host, so the group's timeout cannot apply to it; it only
// reports an error NCCL has already found (ncclCommGetAsyncError). A collective whose peer died
// shows as a host wait that never ends (synchronize, a copy to the host). broadcast and barrier,
// which block the host, poll with the timeout and throw a device error "... timed out after N
// ms"; after that the job should end through abort_world. There is no watchdog thread.
//
// Dtypes: f32, f16, bf16, i32 and i64; average (ncclAvg) for the floating ones only.
// Thread safety as MpiProcessGroup's: issue from one thread; a Work may be waited on from any
// thread that may use the device, and outlives the group (it holds the communicator).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "distributed/process_group.h"

namespace tally::dist {

struct NcclCommunicator;

class NcclProcessGroup : public ProcessGroup {
 public:
  // Every rank of the world, this one on `device`.
  NcclProcessGroup(Device device, std::chrono::milliseconds timeout);
  std::string backend() const override { return "nccl"; }
  Device device() const { return device_; }

  std::unique_ptr<Work> all_reduce(const Tensor& tensor, ReduceOp op) override;
  std::unique_ptr<Work> reduce_scatter(const Tensor& buffer, ReduceOp op) override;
  std::unique_ptr<Work> all_gather(const Tensor& buffer) override;
  void broadcast(const Tensor& tensor, int root) override;
  void barrier() override;
  std::vector<double> sum_on_host(std::vector<double> values) override;

  // The device memory that creating the communicator took, outside tally's allocator: the
  // driver's used bytes after ncclCommInitRank less before (other processes' changes meanwhile
  // included). NCCL may allocate more at a communicator's first collectives (connections set up
  // on demand): cuda_used_bytes after them tells.
  std::int64_t communicator_bytes() const { return communicator_bytes_; }

 private:
  struct Place {
    int rank;
    int size;
    int local_rank;
  };
  NcclProcessGroup(Device device, std::chrono::milliseconds timeout, Place place);
  static Place world_place();
  // Queues `launch(comm stream)` after the compute stream's work, with `tensor` recorded there.
  template <typename Launch>
  std::unique_ptr<Work> enqueue(const Tensor& tensor, std::string what, Launch&& launch);
  std::string name(const char* what, const Tensor& tensor) const;

  Device device_;
  std::shared_ptr<NcclCommunicator> comm_;
  std::int64_t communicator_bytes_ = 0;
};

// The driver's used bytes on `device` (total less free, every process's), with `device` current.
std::size_t cuda_used_bytes(Device device);

}  // namespace tally::dist
