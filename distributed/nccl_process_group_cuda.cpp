#include "distributed/nccl_process_group_cuda.h"

#include <cuda_runtime_api.h>

#include <thread>

#include "allocator/cleanup_errors.h"
#include "allocator/cuda_check.h"
#include "core/cuda_context.h"
#include "core/on_unwind.h"
#include "distributed/nccl_check.h"
#include "distributed/world.h"
#include "tally/build_config.h"

#if TALLY_WITH_MPI
#include "distributed/mpi_check.h"
#include "distributed/mpi_runtime.h"
#endif

namespace tally::dist {

struct NcclCommunicator {
  explicit NcclCommunicator(ncclComm_t c) : comm(c) {}
  ~NcclCommunicator() {
    run_cleanup("destroying an NCCL communicator", [&] { NCCL_CHECK(nccl().comm_destroy(comm)); });
  }
  NcclCommunicator(const NcclCommunicator&) = delete;
  NcclCommunicator& operator=(const NcclCommunicator&) = delete;
  ncclComm_t comm;
};

namespace {

cudaStream_t handle(const CudaStream& s) {
  return static_cast<cudaStream_t>(s.handle);
}

ncclDataType_t nccl_type(DType dtype, ReduceOp op, const char* what) {
  switch (dtype) {
    case DType::f32:
      return ncclFloat32;
    case DType::f16:
      return ncclFloat16;
    case DType::bf16:
      return ncclBfloat16;
    case DType::i32:
    case DType::i64:
      if (op == ReduceOp::average) {
        throw UsageError(std::string(what) +
                         ": the nccl backend averages floating dtypes only, not " +
                         std::string(dtype_name(dtype)));
      }
      return dtype == DType::i32 ? ncclInt32 : ncclInt64;
    case DType::u8:
      break;
  }
  throw UsageError(std::string(what) +
                   ": the nccl backend reduces f32, f16, bf16, i32 and i64, "
                   "not " +
                   std::string(dtype_name(dtype)));
}

ncclRedOp_t nccl_op(ReduceOp op) {
  return op == ReduceOp::average ? ncclAvg : ncclSum;
}

// An error NCCL found in a collective already running (a peer gone, a network failure).
void check_async(const NcclCommunicator& c, const std::string& what) {
  ncclResult_t async = ncclSuccess;
  NCCL_CHECK(nccl().comm_get_async_error(c.comm, &async));
  if (async != ncclSuccess && async != ncclInProgress) {
    throw Error(ErrorKind::device, what, detail::nccl_result_name(async),
                what + " failed: " + nccl().get_error_string(async));
  }
}

cudaEvent_t new_event() {
  cudaEvent_t event = nullptr;
  CUDA_CHECK(cudaEventCreateWithFlags(&event, cudaEventDisableTiming));
  return event;
}

void destroy_event(cudaEvent_t event) noexcept {
  run_cleanup("destroying a collective's event", [&] { CUDA_CHECK(cudaEventDestroy(event)); });
}

// Blocks the host until `event` has happened, polling so that the timeout and NCCL's own errors
// can end the wait.
void host_wait(cudaEvent_t event, const NcclCommunicator& c, const std::string& what,
               std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    const cudaError_t status = cudaEventQuery(event);
    if (status == cudaSuccess) return;
    if (status != cudaErrorNotReady) CUDA_CHECK(status);
    static_cast<void>(cudaGetLastError());  // not ready is an answer, not an error to keep
    check_async(c, what);
    if (std::chrono::steady_clock::now() > deadline) {
      throw Error(ErrorKind::device, what, "timeout",
                  what + " timed out after " + std::to_string(timeout.count()) + " ms");
    }
    std::this_thread::sleep_for(std::chrono::microseconds(100));
  }
}

class NcclWork : public Work {
 public:
  NcclWork(std::shared_ptr<NcclCommunicator> comm, Device device, cudaEvent_t done,
           std::string what)
      : comm_(std::move(comm)), device_(device), done_(done), what_(std::move(what)) {}
  ~NcclWork() override { destroy_event(done_); }
  NcclWork(const NcclWork&) = delete;
  NcclWork& operator=(const NcclWork&) = delete;

  void wait() override {
    check_async(*comm_, what_);
    CUDA_CHECK(cudaStreamWaitEvent(handle(compute_stream(device_)), done_, 0));
  }
  void wait_on_host(std::chrono::milliseconds timeout) {
    wait();
    host_wait(done_, *comm_, what_, timeout);
  }

 private:
  std::shared_ptr<NcclCommunicator> comm_;
  Device device_;
  cudaEvent_t done_;
  std::string what_;
};

ncclUniqueId unique_id(int rank, int size, std::chrono::milliseconds timeout) {
  auto id = std::make_shared<ncclUniqueId>();
  if (rank == 0) NCCL_CHECK(nccl().get_unique_id(id.get()));
  if (size == 1) return *id;
#if TALLY_WITH_MPI
  // Shared with the task, which may outlive a timed-out wait.
  mpi::post([id] {
    MPI_CHECK(MPI_Bcast(id.get(), sizeof(ncclUniqueId), MPI_BYTE, 0, MPI_COMM_WORLD));
  })->wait("broadcast of NCCL's unique id", timeout);
#else
  static_cast<void>(timeout);
  TALLY_CHECK(false, "a world of several ranks in a build without MPI");
#endif
  return *id;
}

}  // namespace

std::size_t cuda_used_bytes(Device device) {
  compute_stream(device);  // makes the device current, through the context's own bookkeeping
  std::size_t free = 0;
  std::size_t total = 0;
  CUDA_CHECK(cudaMemGetInfo(&free, &total));
  return total - free;
}

NcclProcessGroup::Place NcclProcessGroup::world_place() {
#if TALLY_WITH_MPI
  if (mpi::launched()) {
    const mpi::World& w = mpi::world();
    return {w.rank, w.size, w.local_rank};
  }
#endif
  return {0, 1, 0};
}

NcclProcessGroup::NcclProcessGroup(Device device, std::chrono::milliseconds timeout)
    : NcclProcessGroup(device, timeout, world_place()) {}

NcclProcessGroup::NcclProcessGroup(Device device, std::chrono::milliseconds timeout, Place place)
    : ProcessGroup(place.rank, place.size, place.local_rank, timeout), device_(device) {
  if (device.kind != DeviceKind::cuda) {
    throw UsageError("process group: nccl moves cuda tensors, not " + device.str() + "'s");
  }
  const std::size_t before = cuda_used_bytes(device);
  const ncclUniqueId id = unique_id(rank(), size(), timeout);
  ncclComm_t comm = nullptr;
  NCCL_CHECK(nccl().comm_init_rank(&comm, size(), id, rank()));
  comm_ = std::make_shared<NcclCommunicator>(comm);
  communicator_bytes_ =
      static_cast<std::int64_t>(cuda_used_bytes(device)) - static_cast<std::int64_t>(before);
}

std::string NcclProcessGroup::name(const char* what, const Tensor& tensor) const {
  return std::string(what) + (tensor.defined() ? " of " + tensor.describe() : "") + " (rank " +
         std::to_string(rank()) + " of " + std::to_string(size()) + ", nccl)";
}

template <typename Launch>
std::unique_ptr<Work> NcclProcessGroup::enqueue(const Tensor& tensor, std::string what,
                                                Launch&& launch) {
  const cudaStream_t compute = handle(compute_stream(device_));
  const cudaStream_t comm = handle(device_stream(device_, StreamRole::communication));
  const cudaEvent_t ready = new_event();
  {
    // Destroying an event with work pending is allowed: it goes once it has happened.
    const OnUnwind destroyed([&]() noexcept { destroy_event(ready); });
    CUDA_CHECK(cudaEventRecord(ready, compute));
    CUDA_CHECK(cudaStreamWaitEvent(comm, ready, 0));
    destroy_event(ready);
  }
  launch(comm);
  const cudaEvent_t done = new_event();
  const OnUnwind unrecorded([&]() noexcept { destroy_event(done); });
  CUDA_CHECK(cudaEventRecord(done, comm));
  tensor.storage()->record_stream(StreamRole::communication);
  return std::make_unique<NcclWork>(comm_, device_, done, std::move(what));
}

std::unique_ptr<Work> NcclProcessGroup::all_reduce(const Tensor& tensor, ReduceOp op) {
  check_tensor(tensor, device_, "all_reduce");
  const ncclDataType_t type = nccl_type(tensor.dtype(), op, "all_reduce");
  return enqueue(tensor, name("all_reduce", tensor), [&](cudaStream_t stream) {
    void* data = tensor.raw_data();
    NCCL_CHECK(nccl().all_reduce(data, data, static_cast<std::size_t>(tensor.numel()), type,
                                 nccl_op(op), comm_->comm, stream));
  });
}

// In place as NCCL defines it: each rank's chunk is the slice at its own offset of the buffer.
std::unique_ptr<Work> NcclProcessGroup::reduce_scatter(const Tensor& buffer, ReduceOp op) {
  check_tensor(buffer, device_, "reduce_scatter", size());
  const ncclDataType_t type = nccl_type(buffer.dtype(), op, "reduce_scatter");
  return enqueue(buffer, name("reduce_scatter", buffer), [&](cudaStream_t stream) {
    const auto chunk = static_cast<std::size_t>(buffer.numel() / size());
    char* base = static_cast<char*>(buffer.raw_data());
    char* mine = base + static_cast<std::size_t>(rank()) * chunk * dtype_size(buffer.dtype());
    NCCL_CHECK(nccl().reduce_scatter(base, mine, chunk, type, nccl_op(op), comm_->comm, stream));
  });
}

std::unique_ptr<Work> NcclProcessGroup::all_gather(const Tensor& buffer) {
  check_tensor(buffer, device_, "all_gather", size());
  const ncclDataType_t type = nccl_type(buffer.dtype(), ReduceOp::sum, "all_gather");
  return enqueue(buffer, name("all_gather", buffer), [&](cudaStream_t stream) {
    const auto chunk = static_cast<std::size_t>(buffer.numel() / size());
    char* base = static_cast<char*>(buffer.raw_data());
    char* mine = base + static_cast<std::size_t>(rank()) * chunk * dtype_size(buffer.dtype());
    NCCL_CHECK(nccl().all_gather(mine, base, chunk, type, comm_->comm, stream));
  });
}

void NcclProcessGroup::broadcast(const Tensor& tensor, int root) {
  check_tensor(tensor, device_, "broadcast");
  if (root < 0 || root >= size()) {
    throw UsageError("broadcast: root " + std::to_string(root) + " is not a rank of a world of " +
                     std::to_string(size()));
  }
  // As bytes: every dtype travels.
  auto work = enqueue(tensor, name("broadcast", tensor), [&](cudaStream_t stream) {
    void* data = tensor.raw_data();
    const auto bytes = static_cast<std::size_t>(tensor.numel()) * dtype_size(tensor.dtype());
    NCCL_CHECK(nccl().broadcast(data, data, bytes, ncclUint8, root, comm_->comm, stream));
  });
  static_cast<NcclWork&>(*work).wait_on_host(timeout());
}

void NcclProcessGroup::barrier() {
  // Every collective queued so far has finished here, then every rank meets on the host.
  const cudaStream_t comm = handle(device_stream(device_, StreamRole::communication));
  const cudaEvent_t queued = new_event();
  NcclWork drained(comm_, device_, queued, name("barrier", Tensor()));
  CUDA_CHECK(cudaEventRecord(queued, comm));
  drained.wait_on_host(timeout());
  if (size() > 1) world_group(Device::cpu(), timeout())->barrier();
}

std::vector<double> NcclProcessGroup::sum_on_host(std::vector<double> values) {
  if (size() == 1) return values;
  return world_group(Device::cpu(), timeout())->sum_on_host(std::move(values));
}

}  // namespace tally::dist
