// Batches of Fashion-MNIST as tensors: images f32 [B, 1, 28, 28], scaled to [0, 1] and normalised
// with the training set's mean and standard deviation, and labels i64 [B]; or of a token dataset:
// windows i64 [B, T] and their next tokens i64 [B * T].
//
// Shuffling is reproducible everywhere: epoch e's order is a Fisher-Yates shuffle driven by the
// Philox 4x32-10 stream keyed by the seed, with e as the high half of the counter, and an
// unbiased bounded draw of tally's own. Nothing depends on std::shuffle or the standard library's
// distributions, whose results differ between implementations, so one seed gives one order on
// every machine and compiler.
#pragma once

#include <cstdint>
#include <vector>

#include "core/device.h"
#include "core/tensor.h"
#include "nn/data/fashion_mnist.h"

namespace tally::data {

// The order in which an epoch visits samples 0 .. n-1: a permutation that depends on
// (seed, epoch) alone.
std::vector<std::int64_t> epoch_order(std::int64_t n, std::uint64_t seed, std::uint64_t epoch);

struct LoaderOptions {
  std::int64_t batch_size = 64;
  bool shuffle = true;  // false: every epoch visits samples in dataset order
  std::uint64_t seed = 0;
  bool drop_last = false;  // drop a last batch smaller than batch_size
  // Where batches are allocated. cpu and cuda: filled with data (cuda through a host copy). sim:
  // allocated only, since sim holds no data; a dataset of n samples without pixels or labels is
  // enough there.
  Device device = Device::cpu();
  // Data parallelism: each step draws one batch of batch_size * shards samples and returns shard
  // `shard`'s part of it: batch_size samples from a full batch; from a last partial one (without
  // drop_last) samples [shard * m / shards, (shard + 1) * m / shards) of its m. Every shard of
  // one (seed, epoch) sees the same order, so the shards of a step together are the batch one
  // process would draw with batch_size * shards.
  std::int64_t shards = 1;
  std::int64_t shard = 0;
};

struct Batch {
  Tensor inputs;  // images f32 [B, 1, 28, 28]; tokens i64 [B, seq_len] of a token dataset
  Tensor labels;  // i64 [B]; for tokens [B * seq_len], the next token of each position
};

class BatchLoader {
 public:
  // Starts at epoch 0. The dataset is not copied and must outlive the loader. Throws a one-line
  // invalid_argument error for a bad option or a dataset that yields no batch.
  BatchLoader(const Dataset& dataset, LoaderOptions options);
  BatchLoader(const Dataset&& dataset, LoaderOptions options) = delete;

  std::int64_t batches_per_epoch() const { return batches_per_epoch_; }
  std::int64_t epoch() const { return epoch_; }
  // Batches of the current epoch already returned.
  std::int64_t batch_index() const { return batch_index_; }
  // Restarts at the beginning of `epoch` (its order depends on (seed, epoch) alone).
  void set_epoch(std::int64_t epoch);

  // The current epoch's next batch; after its last batch, the first of the next epoch. Tensors
  // are allocated on options.device under Tag::other.
  Batch next();

 private:
  void check_dataset() const;
  Batch image_batch(std::int64_t start, std::int64_t size) const;
  Batch token_batch(std::int64_t start, std::int64_t size) const;

  const Dataset& dataset_;
  LoaderOptions options_;
  std::int64_t batches_per_epoch_ = 0;
  std::int64_t epoch_ = 0;
  std::int64_t batch_index_ = 0;
  std::vector<std::int64_t> order_;
};

}  // namespace tally::data
