#include "nn/data/loader.h"

#include "core/cuda_context.h"

#include <algorithm>
#include <array>
#include <numeric>
#include <string>
#include <utility>

#include "allocator/error.h"
#include "core/cuda_context.h"
#include "core/philox.h"

namespace tally::data {
namespace {

// 64-bit words from Philox: key `seed`, counter (block, stream). Each block gives two words.
class PhiloxWords {
 public:
  PhiloxWords(std::uint64_t seed, std::uint64_t stream) : seed_(seed), stream_(stream) {}

  std::uint64_t next() {
    if (word_ == 2) {
      block_ = philox4x32_10(seed_, counter_++, stream_);
      word_ = 0;
    }
    const std::uint32_t* v = &block_.v[2 * word_++];
    return (std::uint64_t{v[0]} << 32) | v[1];
  }

  // Uniform in [0, bound), unbiased: draws below 2^64 mod bound are rejected so that every
  // residue is equally likely.
  std::uint64_t below(std::uint64_t bound) {
    const std::uint64_t threshold = (0 - bound) % bound;
    std::uint64_t x = next();
    while (x < threshold) x = next();
    return x % bound;
  }

 private:
  std::uint64_t seed_;
  std::uint64_t stream_;
  std::uint64_t counter_ = 0;
  PhiloxBlock block_{};
  int word_ = 2;
};

// Pixel value -> normalised float, so each pixel costs one lookup.
std::array<float, 256> normalise_table() {
  std::array<float, 256> table{};
  for (int v = 0; v < 256; ++v) {
    table[v] = (static_cast<float>(v) / 255.0f - kFashionMnistMean) / kFashionMnistStd;
  }
  return table;
}

}  // namespace

std::vector<std::int64_t> epoch_order(std::int64_t n, std::uint64_t seed, std::uint64_t epoch) {
  TALLY_CHECK(n >= 0, "epoch_order: negative sample count " + std::to_string(n));
  std::vector<std::int64_t> order(static_cast<std::size_t>(n));
  std::iota(order.begin(), order.end(), std::int64_t{0});
  PhiloxWords words(seed, epoch);
  for (std::size_t i = order.size(); i > 1; --i) {
    std::swap(order[i - 1], order[words.below(i)]);
  }
  return order;
}

BatchLoader::BatchLoader(const Dataset& dataset, LoaderOptions options)
    : dataset_(dataset), options_(options) {
  if (options_.batch_size <= 0) {
    throw UsageError("BatchLoader: batch size must be positive, got " +
                     std::to_string(options_.batch_size));
  }
  check_dataset();
  if (options_.shards < 1 || options_.shard < 0 || options_.shard >= options_.shards) {
    throw UsageError("BatchLoader: shard " + std::to_string(options_.shard) + " of " +
                     std::to_string(options_.shards));
  }
  const std::int64_t global = options_.batch_size * options_.shards;
  const std::int64_t full = dataset_.n / global;
  const bool partial = dataset_.n % global != 0;
  batches_per_epoch_ = full + (partial && !options_.drop_last ? 1 : 0);
  if (batches_per_epoch_ == 0) {
    throw UsageError("BatchLoader: no batches: " + std::to_string(dataset_.n) +
                     " samples, batch size " + std::to_string(options_.batch_size) +
                     (options_.drop_last ? " with drop_last" : ""));
  }
  set_epoch(0);
}

void BatchLoader::check_dataset() const {
  const auto n = static_cast<std::size_t>(dataset_.n);
  // sim reads no sample, so a count without pixels, labels or tokens is enough there.
  const bool shapes_only = options_.device.kind == DeviceKind::sim && dataset_.images.empty() &&
                           dataset_.labels.empty() && dataset_.tokens.empty();
  if (dataset_.n < 0 || dataset_.seq_len < 0) {
    throw UsageError("BatchLoader: inconsistent dataset: n = " + std::to_string(dataset_.n) +
                     ", seq_len = " + std::to_string(dataset_.seq_len));
  }
  if (shapes_only) return;
  if (dataset_.seq_len > 0) {
    if (dataset_.tokens.size() != n * static_cast<std::size_t>(dataset_.seq_len) + 1) {
      throw UsageError("BatchLoader: inconsistent dataset: " + std::to_string(dataset_.n) +
                       " windows of " + std::to_string(dataset_.seq_len) + " tokens with " +
                       std::to_string(dataset_.tokens.size()) + " tokens");
    }
    return;
  }
  if (dataset_.images.size() != n * static_cast<std::size_t>(kFashionMnistPixels) ||
      dataset_.labels.size() != n) {
    throw UsageError("BatchLoader: inconsistent dataset: n = " + std::to_string(dataset_.n) +
                     " with " + std::to_string(dataset_.images.size()) + " pixel bytes and " +
                     std::to_string(dataset_.labels.size()) + " labels");
  }
}

void BatchLoader::set_epoch(std::int64_t epoch) {
  if (epoch < 0)
    throw UsageError("BatchLoader: epoch must not be negative, got " + std::to_string(epoch));
  epoch_ = epoch;
  batch_index_ = 0;
  if (options_.shuffle) {
    order_ = epoch_order(dataset_.n, options_.seed, static_cast<std::uint64_t>(epoch));
  } else {
    order_.resize(static_cast<std::size_t>(dataset_.n));
    std::iota(order_.begin(), order_.end(), std::int64_t{0});
  }
}

Batch BatchLoader::next() {
  if (batch_index_ == batches_per_epoch_) set_epoch(epoch_ + 1);
  const std::int64_t global = options_.batch_size * options_.shards;
  const std::int64_t first = batch_index_ * global;
  const std::int64_t drawn = std::min(global, dataset_.n - first);
  const std::int64_t start = first + options_.shard * drawn / options_.shards;
  const std::int64_t size = first + (options_.shard + 1) * drawn / options_.shards - start;
  ++batch_index_;

  if (dataset_.seq_len > 0) return token_batch(start, size);
  return image_batch(start, size);
}

Batch BatchLoader::image_batch(std::int64_t start, std::int64_t size) const {
  // Braced initialisation runs in order, so images are allocated before labels on every device.
  Batch batch{Tensor::empty({size, 1, kFashionMnistRows, kFashionMnistCols}, DType::f32,
                            options_.device, Tag::other),
              Tensor::empty({size}, DType::i64, options_.device, Tag::other)};
  if (options_.device.kind == DeviceKind::sim) return batch;  // shapes and memory, no data

  // A cuda batch is assembled in host memory outside the allocator, like the dataset itself, so
  // that the device's trace holds the same two allocations as the cpu's.
  const bool on_host = options_.device.kind == DeviceKind::cpu;
  std::vector<float> staged_pixels(on_host ? 0 : static_cast<std::size_t>(batch.inputs.numel()));
  std::vector<std::int64_t> staged_labels(on_host ? 0 : static_cast<std::size_t>(size));
  float* pixels = on_host ? batch.inputs.data<float>() : staged_pixels.data();
  std::int64_t* labels = on_host ? batch.labels.data<std::int64_t>() : staged_labels.data();
  static const std::array<float, 256> table = normalise_table();
  for (std::int64_t b = 0; b < size; ++b) {
    const auto sample = static_cast<std::size_t>(order_[start + b]);
    const std::uint8_t* image = &dataset_.images[sample * kFashionMnistPixels];
    for (std::int64_t p = 0; p < kFashionMnistPixels; ++p) pixels[p] = table[image[p]];
    pixels += kFashionMnistPixels;
    labels[b] = dataset_.labels[sample];
  }
  if (!on_host) {
    copy_bytes(batch.inputs.raw_data(), options_.device, staged_pixels.data(), Device::cpu(),
               staged_pixels.size() * sizeof(float));
    copy_bytes(batch.labels.raw_data(), options_.device, staged_labels.data(), Device::cpu(),
               staged_labels.size() * sizeof(std::int64_t));
  }
  return batch;
}

Batch BatchLoader::token_batch(std::int64_t start, std::int64_t size) const {
  const std::int64_t t = dataset_.seq_len;
  Batch batch{Tensor::empty({size, t}, DType::i64, options_.device, Tag::other),
              Tensor::empty({size * t}, DType::i64, options_.device, Tag::other)};
  if (options_.device.kind == DeviceKind::sim) return batch;
  // As for images: assembled in place on cpu, staged in host memory for cuda.
  const bool on_host = options_.device.kind == DeviceKind::cpu;
  const auto count = static_cast<std::size_t>(size * t);
  std::vector<std::int64_t> staged_inputs(on_host ? 0 : count), staged_labels(on_host ? 0 : count);
  std::int64_t* inputs = on_host ? batch.inputs.data<std::int64_t>() : staged_inputs.data();
  std::int64_t* labels = on_host ? batch.labels.data<std::int64_t>() : staged_labels.data();
  for (std::int64_t b = 0; b < size; ++b) {
    const std::int32_t* window = &dataset_.tokens[static_cast<std::size_t>(order_[start + b] * t)];
    for (std::int64_t i = 0; i < t; ++i) {
      inputs[b * t + i] = window[i];
      labels[b * t + i] = window[i + 1];
    }
  }
  if (!on_host) {
    const std::size_t bytes = count * sizeof(std::int64_t);
    copy_bytes(batch.inputs.raw_data(), options_.device, inputs, Device::cpu(), bytes);
    copy_bytes(batch.labels.raw_data(), options_.device, labels, Device::cpu(), bytes);
  }
  return batch;
}

}  // namespace tally::data
