// What a training step asks of data parallelism, which distributed/ provides (DDP, ZeRO-1): nn
// knows only this interface, so that the dependency runs from distributed to nn.
#pragma once

#include <vector>

namespace tally::nn {

class DataParallel {
 public:
  virtual ~DataParallel() = default;
  virtual int rank() const = 0;
  virtual int world_size() const = 0;
  // After backward: every gradient reduced over the ranks and ready for the optimizer.
  virtual void finish_backward() = 0;
  // After the optimizer's step: the parameters the same on every rank again (ZeRO-1 gathers the
  // shards each rank updated).
  virtual void finish_step() = 0;
  // How many ranks share the optimizer state (ZeRO-1: all of them); 1 when each holds it whole.
  virtual int optimizer_shards() const { return 1; }
  // Host values summed over the ranks, for reporting losses and accuracies.
  virtual std::vector<double> sum_on_host(std::vector<double> values) = 0;
};

}  // namespace tally::nn
