#include "distributed/mpi_process_group.h"

#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <type_traits>

#include "distributed/mpi_check.h"
#include "distributed/mpi_runtime.h"

namespace tally::dist {
namespace {

// MPI counts are ints: longer buffers go in pieces of this many elements.
constexpr std::int64_t kMaxCount = std::int64_t{1} << 30;

template <typename T>
void sum_in_float(void* in, void* inout, int* length, MPI_Datatype*) {
  const auto* a = static_cast<const T*>(in);
  auto* b = static_cast<T*>(inout);
  for (int i = 0; i < *length; ++i) b[i] = from_float<T>(to_float(a[i]) + to_float(b[i]));
}

// Created on first use, on the MPI thread (where every MPI call runs), and never freed: MPI frees
// its operations at MPI_Finalize.
template <typename T>
MPI_Op sum_op() {
  static const MPI_Op op = [] {
    MPI_Op created = MPI_OP_NULL;
    MPI_CHECK(MPI_Op_create(&sum_in_float<T>, /*commute=*/1, &created));
    return created;
  }();
  return op;
}

struct MpiType {
  MPI_Datatype type;
  MPI_Op sum;  // MPI_OP_NULL until looked up on the MPI thread
};

MpiType mpi_type(DType dtype, const char* what) {
  switch (dtype) {
    case DType::f32:
      return {MPI_FLOAT, MPI_SUM};
    case DType::i32:
      return {MPI_INT32_T, MPI_SUM};
    case DType::i64:
      return {MPI_INT64_T, MPI_SUM};
    case DType::f16:
    case DType::bf16:
      return {MPI_UINT16_T, MPI_OP_NULL};
    case DType::u8:
      break;
  }
  throw UsageError(std::string(what) +
                   ": the mpi backend reduces f32, f16, bf16, i32 and i64, not " +
                   std::string(dtype_name(dtype)));
}

MPI_Op sum_of(DType dtype, MPI_Op builtin) {
  if (dtype == DType::f16) return sum_op<Half>();
  if (dtype == DType::bf16) return sum_op<BFloat16>();
  return builtin;
}

void divide(void* data, std::int64_t count, DType dtype, int size) {
  dispatch_dtype(dtype, [&](auto zero) {
    using T = decltype(zero);
    T* p = static_cast<T*>(data);
    for (std::int64_t i = 0; i < count; ++i) {
      if constexpr (std::is_integral_v<T>) {
        p[i] /= size;
      } else {
        p[i] = from_float<T>(to_float(p[i]) / static_cast<float>(size));
      }
    }
  });
}

char* bytes_of(const Tensor& t) {
  return static_cast<char*>(t.raw_data());
}

int chunk_count(const Tensor& buffer, int size, const char* what) {
  const std::int64_t chunk = buffer.numel() / size;
  if (chunk > INT_MAX) {
    throw UsageError(std::string(what) + ": " + buffer.describe() + " has chunks of " +
                     std::to_string(chunk) + " elements, more than MPI counts (" +
                     std::to_string(INT_MAX) + ")");
  }
  return static_cast<int>(chunk);
}

void check_root(int root, int size) {
  if (root < 0 || root >= size) {
    throw UsageError("broadcast: root " + std::to_string(root) + " is not a rank of a world of " +
                     std::to_string(size));
  }
}

class MpiWork : public Work {
 public:
  MpiWork(std::shared_ptr<mpi::Completion> completion, std::string what,
          std::chrono::milliseconds timeout, Tensor tensor)
      : completion_(std::move(completion)),
        what_(std::move(what)),
        timeout_(timeout),
        tensor_(std::move(tensor)) {}
  void wait() override { completion_->wait(what_, timeout_); }

 private:
  std::shared_ptr<mpi::Completion> completion_;
  std::string what_;
  std::chrono::milliseconds timeout_;
  // The task holds the tensor too, and drops it before the collective counts as done: this copy
  // makes the free happen where the caller drops the Work or its own handle, as on one thread.
  Tensor tensor_;
};

}  // namespace

MpiProcessGroup::MpiProcessGroup(std::chrono::milliseconds timeout)
    : ProcessGroup(mpi::world().rank, mpi::world().size, mpi::world().local_rank, timeout) {}

std::string MpiProcessGroup::name(const char* what, const Tensor& tensor) const {
  return std::string(what) + (tensor.defined() ? " of " + tensor.describe() : "") + " (rank " +
         std::to_string(rank()) + " of " + std::to_string(size()) + ", mpi)";
}

std::unique_ptr<Work> MpiProcessGroup::issue(std::string what, const Tensor& tensor,
                                             std::function<void()> task) {
  auto completion = mpi::post(std::move(task));
  return std::make_unique<MpiWork>(std::move(completion), std::move(what), timeout(), tensor);
}

// Each task holds its tensor, so that the storage outlives the collective whatever the caller
// drops, and reads nothing of the group, which may be gone by the time it runs. Its storage is
// freed on the MPI thread only when the caller dropped both the tensor and the Work before the
// collective ran.
std::unique_ptr<Work> MpiProcessGroup::all_reduce(const Tensor& tensor, ReduceOp op) {
  check_tensor(tensor, Device::cpu(), "all_reduce");
  const MpiType type = mpi_type(tensor.dtype(), "all_reduce");
  const int n = size();
  return issue(name("all_reduce", tensor), tensor, [tensor, type, op, n] {
    const MPI_Op sum = sum_of(tensor.dtype(), type.sum);
    const std::size_t element = dtype_size(tensor.dtype());
    for (std::int64_t start = 0; start < tensor.numel(); start += kMaxCount) {
      const std::int64_t count = std::min(kMaxCount, tensor.numel() - start);
      MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, bytes_of(tensor) + start * element,
                              static_cast<int>(count), type.type, sum, MPI_COMM_WORLD));
    }
    if (op == ReduceOp::average) divide(tensor.raw_data(), tensor.numel(), tensor.dtype(), n);
  });
}

std::unique_ptr<Work> MpiProcessGroup::reduce_scatter(const Tensor& buffer, ReduceOp op) {
  check_tensor(buffer, Device::cpu(), "reduce_scatter", size());
  const MpiType type = mpi_type(buffer.dtype(), "reduce_scatter");
  const int chunk = chunk_count(buffer, size(), "reduce_scatter");
  const int n = size();
  const int r = rank();
  return issue(name("reduce_scatter", buffer), buffer, [buffer, type, op, n, r, chunk] {
    const MPI_Op sum = sum_of(buffer.dtype(), type.sum);
    // In place, MPI leaves the result at the start of the buffer; tally's contract (NCCL's) has
    // it in chunk rank().
    MPI_CHECK(MPI_Reduce_scatter_block(MPI_IN_PLACE, buffer.raw_data(), chunk, type.type, sum,
                                       MPI_COMM_WORLD));
    const std::size_t bytes = static_cast<std::size_t>(chunk) * dtype_size(buffer.dtype());
    char* mine = bytes_of(buffer) + static_cast<std::size_t>(r) * bytes;
    if (r != 0) std::memcpy(mine, buffer.raw_data(), bytes);
    if (op == ReduceOp::average) divide(mine, chunk, buffer.dtype(), n);
  });
}

std::unique_ptr<Work> MpiProcessGroup::all_gather(const Tensor& buffer) {
  check_tensor(buffer, Device::cpu(), "all_gather", size());
  const MpiType type = mpi_type(buffer.dtype(), "all_gather");
  const int chunk = chunk_count(buffer, size(), "all_gather");
  return issue(name("all_gather", buffer), buffer, [buffer, type, chunk] {
    MPI_CHECK(MPI_Allgather(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, buffer.raw_data(), chunk, type.type,
                            MPI_COMM_WORLD));
  });
}

void MpiProcessGroup::broadcast(const Tensor& tensor, int root) {
  check_tensor(tensor, Device::cpu(), "broadcast");
  check_root(root, size());
  issue(name("broadcast", tensor), tensor, [tensor, root] {
    const std::int64_t total =
        static_cast<std::int64_t>(tensor.numel() * dtype_size(tensor.dtype()));
    for (std::int64_t start = 0; start < total; start += kMaxCount) {
      const std::int64_t count = std::min(kMaxCount, total - start);
      MPI_CHECK(MPI_Bcast(bytes_of(tensor) + start, static_cast<int>(count), MPI_BYTE, root,
                          MPI_COMM_WORLD));
    }
  })->wait();
}

void MpiProcessGroup::barrier() {
  issue(name("barrier", Tensor()), Tensor(), [] {
    MPI_CHECK(MPI_Barrier(MPI_COMM_WORLD));
  })->wait();
}

std::vector<double> MpiProcessGroup::sum_on_host(std::vector<double> values) {
  if (values.size() > static_cast<std::size_t>(INT_MAX)) {
    throw UsageError("sum_on_host: " + std::to_string(values.size()) +
                     " values, more than MPI "
                     "counts");
  }
  // Shared with the task, which may still run after a timed-out wait has returned.
  auto shared = std::make_shared<std::vector<double>>(std::move(values));
  issue(name("sum_on_host", Tensor()), Tensor(), [shared] {
    MPI_CHECK(MPI_Allreduce(MPI_IN_PLACE, shared->data(), static_cast<int>(shared->size()),
                            MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD));
  })->wait();
  return *shared;
}

}  // namespace tally::dist
