// DistributedDataParallel: PyTorch DDP's gradient reduction (Li et al., VLDB 2020) on tally's
// allocator. At construction rank 0's parameters are broadcast to every rank and the gradients
// are laid out in buckets (bucket_plan.h): flat buffers from the device's allocator, tagged
// communication, into which each parameter's gradient is a view (PyTorch's
// gradient_as_bucket_view), so that no second copy of the gradients exists. In backward, each
// gradient is written into its view as soon as it is produced; a bucket whose gradients are all
// there is all-reduced (averaged) at once while backward goes on, buckets in order, the same on
// every rank. finish_backward() waits for them all.
//
// With ZeRO stage 1 (llm.c's and DeepSpeed's), the buckets are reduce-scattered instead: each
// rank receives the average of its chunk of every bucket, updates only the parameter elements in
// its chunks, with optimizer state for those alone (1/N of it), and finish_step() all-gathers the
// updated chunks in the buckets and copies them back into the parameters.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "distributed/bucket_plan.h"
#include "distributed/process_group.h"
#include "nn/data_parallel.h"
#include "nn/module.h"
#include "nn/trainer.h"

namespace tally::dist {

struct DdpOptions {
  std::int64_t bucket_cap_bytes = std::int64_t{25} << 20;
  std::int64_t first_bucket_cap_bytes = std::int64_t{1} << 20;
  // false: every bucket is reduced after backward, none during it (for measuring what overlap
  // gains).
  bool overlap = true;
  int zero_stage = 0;  // 0 or 1
};

// What happened in the last synchronised backward, in order: for tests and for seeing overlap.
struct DdpEvent {
  enum class Kind { gradient_ready, reduction_started, backward_finished };
  Kind kind = Kind::gradient_ready;
  std::size_t index = 0;  // the parameter (gradient_ready) or the bucket (reduction_started)
};

class DistributedDataParallel : public nn::DataParallel {
 public:
  // `model` and `group` must outlive this object; the model's parameters must be on the group's
  // device. Usage errors: a zero stage other than 0 or 1, bad bucket limits.
  DistributedDataParallel(nn::Module& model, std::shared_ptr<ProcessGroup> group,
                          DdpOptions options = {});
  ~DistributedDataParallel() override;
  DistributedDataParallel(const DistributedDataParallel&) = delete;
  DistributedDataParallel& operator=(const DistributedDataParallel&) = delete;

  int rank() const override { return group_->rank(); }
  int world_size() const override { return group_->size(); }
  // Starts what overlap left (every bucket without it), waits for every reduction. A parameter
  // without a gradient in this backward is a usage error (every parameter must take part, as
  // with PyTorch's find_unused_parameters=False). Under no_sync it does nothing.
  void finish_backward() override;
  // ZeRO-1: all-gathers the chunks each rank updated and copies them into the parameters, then
  // drops the parameters' gradients (their views now hold parameters). Otherwise nothing.
  void finish_step() override;
  std::vector<double> sum_on_host(std::vector<double> values) override;
  int optimizer_shards() const override { return options_.zero_stage == 1 ? world_size() : 1; }

  // An optimizer for this rank's shard (ZeRO-1): `options`' optimizer over the pieces of the
  // parameters in this rank's chunks, reading the reduced gradients in place in the buckets; with
  // master weights (`masters`, as the unsharded optimizer held them), f32 copies of their pieces.
  std::unique_ptr<nn::Optimizer> sharded_optimizer(const nn::TrainOptions& options,
                                                   const nn::NamedParameters& masters) const;

  const std::vector<BucketLayout>& buckets() const { return layouts_; }
  const std::vector<Tensor>& bucket_buffers() const { return buffers_; }
  const std::vector<DdpEvent>& events() const { return events_; }

  // While one exists, backward accumulates gradients in the buckets without reducing them
  // (gradient accumulation); the first backward after it reduces the sum.
  class NoSync {
   public:
    explicit NoSync(DistributedDataParallel& ddp) : ddp_(ddp), was_(ddp.sync_) {
      ddp.sync_ = false;
    }
    ~NoSync() { ddp_.sync_ = was_; }
    NoSync(const NoSync&) = delete;
    NoSync& operator=(const NoSync&) = delete;

   private:
    DistributedDataParallel& ddp_;
    bool was_;
  };

 private:
  void on_gradient(std::size_t parameter, Tensor& grad, const Tensor& incoming);
  void start_ready_buckets();
  void start(std::size_t bucket);

  std::shared_ptr<ProcessGroup> group_;
  DdpOptions options_;
  std::vector<Tensor> parameters_;
  std::vector<std::string> names_;
  std::vector<BucketLayout> layouts_;
  std::vector<Tensor> buffers_;
  std::vector<std::size_t> bucket_of_;  // per parameter
  std::vector<Tensor> views_;           // per parameter: its gradient's place in its bucket
  std::vector<ShardPiece> pieces_;      // ZeRO-1: this rank's, from the layout
  std::vector<bool> accumulated_;       // per parameter: holds a gradient since the last sync
  std::vector<bool> ready_;             // per parameter: produced in this synchronised backward
  std::vector<std::size_t> pending_;    // per bucket: gradients still to come
  std::vector<std::unique_ptr<Work>> works_;
  std::size_t next_to_start_ = 0;
  bool sync_ = true;
  bool fresh_ = true;  // no gradient yet in this synchronised backward
  std::vector<DdpEvent> events_;
};

// TrainOptions::data_parallel for `group` and `options`: DDP on the learner's model and, for
// ZeRO-1, the learner's optimizer replaced by the sharded one. ZeRO-1 with a loss scaler (the
// fp16 arrangements) is a usage error: each rank would check only its own gradients for inf.
std::function<std::shared_ptr<nn::DataParallel>(nn::Learner&)> data_parallel(
    std::shared_ptr<ProcessGroup> group, DdpOptions options, nn::TrainOptions train);

}  // namespace tally::dist
