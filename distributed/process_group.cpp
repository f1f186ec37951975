#include "distributed/process_group.h"

#include "allocator/error.h"

namespace tally::dist {

ProcessGroup::ProcessGroup(int rank, int size, int local_rank, std::chrono::milliseconds timeout)
    : rank_(rank), size_(size), local_rank_(local_rank), timeout_(timeout) {
  if (size < 1 || rank < 0 || rank >= size) {
    throw UsageError("process group: rank " + std::to_string(rank) + " of a world of " +
                     std::to_string(size));
  }
  if (timeout.count() <= 0) throw UsageError("process group: the timeout must be positive");
}

void ProcessGroup::check_tensor(const Tensor& t, Device device, const char* what, int chunks) {
  if (!t.defined()) throw UsageError(std::string(what) + ": the tensor is undefined");
  if (t.device() != device) {
    throw UsageError(std::string(what) + ": " + t.describe() + " is not on the group's device " +
                     device.str());
  }
  if (!t.is_contiguous()) {
    throw UsageError(std::string(what) + ": " + t.describe() + " is not contiguous");
  }
  if (chunks > 1 && t.numel() % chunks != 0) {
    throw UsageError(std::string(what) + ": " + t.describe() + " does not split into " +
                     std::to_string(chunks) + " equal chunks");
  }
}

LocalProcessGroup::LocalProcessGroup(Device device, int rank, int size)
    : ProcessGroup(rank, size, 0, std::chrono::hours(1)), device_(device) {
  if (size > 1 && device.kind != DeviceKind::sim) {
    throw UsageError("process group: a local group of " + std::to_string(size) +
                     " ranks moves no data, so it exists only on sim, not on " + device.str());
  }
}

std::unique_ptr<Work> LocalProcessGroup::all_reduce(const Tensor& tensor, ReduceOp) {
  check_tensor(tensor, device_, "all_reduce");
  return std::make_unique<CompletedWork>();
}

std::unique_ptr<Work> LocalProcessGroup::reduce_scatter(const Tensor& buffer, ReduceOp) {
  check_tensor(buffer, device_, "reduce_scatter", size());
  return std::make_unique<CompletedWork>();
}

std::unique_ptr<Work> LocalProcessGroup::all_gather(const Tensor& buffer) {
  check_tensor(buffer, device_, "all_gather", size());
  return std::make_unique<CompletedWork>();
}

void LocalProcessGroup::broadcast(const Tensor& tensor, int root) {
  check_tensor(tensor, device_, "broadcast");
  if (root < 0 || root >= size()) {
    throw UsageError("broadcast: root " + std::to_string(root) + " is not a rank");
  }
}

std::vector<double> LocalProcessGroup::sum_on_host(std::vector<double> values) {
  // On sim the other ranks are this one's copies.
  for (double& v : values) v *= size();
  return values;
}

}  // namespace tally::dist
